"""Staff API over what was sent to whom and when; the unsubscribe link of non-essential email."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from kapbook_platform.staff import require_staff
from kapbook_platform.web.errors import Conflict, NotFound
from kapbook_reminders.adapters import tables as t
from kapbook_reminders.adapters.tables import MESSAGE_STATUSES
from kapbook_reminders.service_layer.dispatch import resend

blp = Blueprint("notifications", __name__, url_prefix="/api/reminders/v1", description="What was sent to whom, and when")


class NotificationQuerySchema(Schema):
    booking_id = fields.String(validate=validate.Length(max=36))
    status = fields.String(validate=validate.OneOf(MESSAGE_STATUSES))
    limit = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1, max=500))


class NotificationSchema(Schema):
    id = fields.String(required=True)
    booking_id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    recipient = fields.String(required=True)
    status = fields.String(required=True)
    essential = fields.Boolean(required=True)
    due_at = fields.AwareDateTime(required=True)
    sent_at = fields.AwareDateTime(allow_none=True)
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    result = fields.String(allow_none=True)


class UnsubscribeQuerySchema(Schema):
    email = fields.Email(required=True)


def _sessions():
    return current_app.extensions["kapbook_reminders"].runtime.sessions


@blp.route("/notifications")
class Notifications(MethodView):
    @require_staff()
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    def get(self, query):
        """List notifications, filtered by booking or status (staff)"""
        statement = select(t.messages).order_by(t.messages.c.due_at).limit(query["limit"])
        if "booking_id" in query:
            statement = statement.where(t.messages.c.booking_id == query["booking_id"])
        if "status" in query:
            statement = statement.where(t.messages.c.status == query["status"])
        with _sessions()() as session:
            return [dict(row) for row in session.execute(statement).mappings()]


@blp.route("/notifications/<string:message_id>/resend")
class Resend(MethodView):
    @require_staff()
    @blp.response(202, NotificationSchema)
    @blp.alt_response(409, description="Only failed notifications can be resent")
    def post(self, message_id):
        """Resend a failed notification (staff)"""
        with _sessions().begin() as session:
            if not resend(session, message_id, datetime.now(timezone.utc)):
                exists = session.execute(select(t.messages.c.id).where(t.messages.c.id == message_id)).first()
                if not exists:
                    raise NotFound("There is no such notification.")
                raise Conflict("Only failed notifications can be resent.")
            return dict(session.execute(select(t.messages).where(t.messages.c.id == message_id)).mappings().one())


@blp.route("/unsubscribe")
class Unsubscribe(MethodView):
    @blp.arguments(UnsubscribeQuerySchema, location="query")
    @blp.response(200, Schema.from_dict({"status": fields.String()}))
    def post(self, query):
        """One-click unsubscribe from non-essential email (RFC 8058)"""
        email = query["email"].lower()
        with _sessions().begin() as session:
            existing = session.execute(select(t.contact_preferences).where(t.contact_preferences.c.email == email)).first()
            now = datetime.now(timezone.utc)
            if existing:
                session.execute(
                    t.contact_preferences.update().where(t.contact_preferences.c.email == email).values(unsubscribed_at=now)
                )
            else:
                session.execute(t.contact_preferences.insert().values(email=email, unsubscribed_at=now))
        return {"status": "unsubscribed"}
