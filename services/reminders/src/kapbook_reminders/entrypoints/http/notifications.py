"""Staff API over what was sent to whom and when; the unsubscribe link of non-essential email."""
from __future__ import annotations

from flask import Response, render_template
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kapbook_platform.staff.scopes import BOOKINGS, READ_ONLY
from kapbook_platform.staff.web import audited_address, require_staff
from kapbook_platform.web.errors import Conflict, NotFound
from kapbook_reminders.adapters.tables import MESSAGE_STATUSES
from kapbook_reminders.domain.plan import MessageKind
from kapbook_reminders.domain.unsubscribe import email_from_token
from kapbook_reminders.entrypoints.wiring import container, current_staff
from kapbook_reminders.service_layer import notifications as use_cases

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/reminders/v1",
    description="What was sent to whom, and when",
    template_folder="templates",
)

HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}


NOTIFICATION_READS = (READ_ONLY, BOOKINGS)  # the notification log is bookings' mail: a schedules- or reviews-only token reads none


class QueryInteger(fields.Integer):
    """A whole number from a query string: ASCII digits only (``int()`` would also take " 1_0 ")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class NotificationQuerySchema(Schema):
    booking_id = fields.String(validate=validate.Length(min=1, max=36), metadata={"description": "Only this booking's"})
    status = fields.String(validate=validate.OneOf(MESSAGE_STATUSES))
    kind = fields.String(validate=validate.OneOf([kind.value for kind in MessageKind]))
    recipient = fields.Email(metadata={"description": "Only those sent to this address"})
    limit = QueryInteger(load_default=100, validate=validate.Range(min=1, max=500))
    offset = QueryInteger(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class NotificationSchema(Schema):
    id = fields.String(required=True)
    booking_id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    sequence = fields.Integer(required=True, metadata={"description": "The booking version it was planned from"})
    recipient = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(MESSAGE_STATUSES))
    essential = fields.Boolean(required=True, metadata={"description": "False: honours an unsubscribe"})
    due_at = fields.AwareDateTime(required=True, metadata={"description": "When it is (or was) due to be sent"})
    created_at = fields.AwareDateTime(required=True, metadata={"description": "When it was planned"})
    updated_at = fields.AwareDateTime(required=True)
    sent_at = fields.AwareDateTime(allow_none=True, metadata={"description": "When the SMTP server accepted it"})
    attempts = fields.Integer(required=True, metadata={"description": "Failed sending attempts so far"})
    next_attempt_at = fields.AwareDateTime(allow_none=True, metadata={"description": "When it is tried again"})
    result = fields.String(allow_none=True, metadata={"description": "The delivery result, or why it was not sent"})
    smtp_message_id = fields.String(allow_none=True)


class UnsubscribeQuerySchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1000))


def _reader() -> use_cases.Reader:
    return use_cases.Reader(current_staff().staff_id, audited_address())


@blp.route("/notifications")
class Notifications(MethodView):
    @require_staff(scope=NOTIFICATION_READS)
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @blp.alt_response(401, description="No valid staff token")
    def get(self, query):
        """List notifications with their times and delivery result, filtered by booking, status, kind or recipient (staff)"""
        return use_cases.list_notifications(container().store, use_cases.NotificationFilter(**query), _reader())


@blp.route("/notifications/<string:message_id>")
class Notification(MethodView):
    @require_staff(scope=NOTIFICATION_READS)
    @blp.response(200, NotificationSchema)
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(404, description="There is no such notification")
    def get(self, message_id):
        """One notification (staff)"""
        try:
            return use_cases.get_notification(container().store, message_id, _reader())
        except use_cases.NotificationNotFound:
            raise NotFound("There is no such notification.") from None


@blp.route("/notifications/<string:message_id>/resend")
class Resend(MethodView):
    @require_staff(scope=BOOKINGS)
    @blp.response(202, NotificationSchema)
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(404, description="There is no such notification")
    @blp.alt_response(409, description="Only a failed notification that is still relevant can be resent")
    def post(self, message_id):
        """Resend a failed notification (staff): it is queued again at once"""
        reminders = container()
        try:
            return use_cases.resend_notification(reminders.store, message_id, current_staff().staff_id, reminders.clock())
        except use_cases.NotificationNotFound:
            raise NotFound("There is no such notification.") from None
        except use_cases.CannotResend as refusal:
            raise Conflict(str(refusal)) from None


@blp.route("/unsubscribe")
class Unsubscribe(MethodView):
    """The link in non-essential email: GET shows a confirmation page, POST unsubscribes (RFC 8058 one-click).

    A GET never unsubscribes, because mail scanners open links; a mail client's one-click
    unsubscribe POSTs ``List-Unsubscribe=One-Click`` to the same URL, as does the page's button.
    """

    @blp.arguments(UnsubscribeQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "A page asking to confirm", "content": HTML_PAGE},
                        "400": {"description": "The link is not valid", "content": HTML_PAGE}})
    def get(self, query):
        """Show the page that confirms stopping follow-up emails"""
        email = email_from_token(query["token"], *container().config.unsubscribe_verify_keys)
        return _page("confirm" if email else "invalid", email)

    @blp.arguments(UnsubscribeQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "Unsubscribed (idempotent)", "content": HTML_PAGE},
                        "400": {"description": "The link is not valid", "content": HTML_PAGE}})
    def post(self, query):
        """Stop follow-up emails to the link's address (one-click)"""
        reminders = container()
        email = email_from_token(query["token"], *reminders.config.unsubscribe_verify_keys)
        if email is None:
            return _page("invalid", None)
        use_cases.unsubscribe(reminders.store, email, reminders.clock())
        return _page("done", email)


PAGE_HEADINGS = {
    "confirm": "Stop follow-up emails?",
    "done": "You have unsubscribed",
    "invalid": "This link is not valid",
}


def _page(state: str, email: str | None) -> Response:
    branding = container().branding
    body = render_template(
        "unsubscribe.html",
        state=state,
        heading=PAGE_HEADINGS[state],
        address=mask_email(email) if email else None,
        clinic=branding.display_name,
        brand_colour=branding.brand_colour,
        button_text_colour=branding.button_text_colour,
    )
    response = Response(body, status=400 if state == "invalid" else 200, mimetype="text/html")
    # The token is a credential: keep the page out of caches and other sites' Referer headers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    return response


def mask_email(email: str) -> str:
    """'p•••@example.org': enough for the patient to recognise, little for a shoulder-surfer."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"
