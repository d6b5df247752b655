"""Webhook endpoints in the console (admins): list, register (the secret is shown once), deliveries, replay.

Forms go through the same schema and use cases as the staff API.
"""
from __future__ import annotations

from flask import redirect, request, url_for
from marshmallow import ValidationError

from kapbook_booking.domain.webhooks import WEBHOOK_EVENT_TYPES
from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.http.staff_webhooks import webhooks
from kapbook_booking.entrypoints.http.staff_webhooks_schemas import WebhookRequestSchema
from kapbook_booking.entrypoints.web.console.access import bp, console_view, page
from kapbook_booking.entrypoints.wiring import current_staff
from kapbook_booking.service_layer.errors import BookingError

ADMINS = ("admin",)
NOTICES = {"replayed": "The delivery will be sent again in a moment, with the same webhook-id."}


def _list_page(status: int = 200, problem: dict | None = None, form: dict | None = None, created: dict | None = None):
    return page("console/webhooks.html", status, endpoints=webhooks().list(), event_types=WEBHOOK_EVENT_TYPES,
                problem=problem, form=form or {}, created=created)


@bp.get("/webhooks")
@console_view(*ADMINS)
def webhook_endpoints():
    return _list_page()


@bp.post("/webhooks")
@console_view(*ADMINS)
def create_webhook_endpoint():
    form = {"url": request.form.get("url", "").strip(), "event_types": request.form.getlist("event_types"),
            "description": request.form.get("description", "").strip()}
    try:
        created = webhooks().create(current_staff(), WebhookRequestSchema().load(form))
    except ValidationError as invalid:
        fields = {name: " ".join(map(str, problems)) for name, problems in invalid.messages.items()}
        return _list_page(422, {"message": "Please correct the fields marked below.", "fields": fields}, form)
    except BookingError as refused:
        return _list_page(http_status(refused), {"message": refused.message, "fields": refused.errors or {}}, form)
    # Rendered, not redirected: the secret must not sit in a URL, and it is shown this once.
    return _list_page(201, created=created)


@bp.get("/webhooks/<string:endpoint_id>")
@console_view(*ADMINS)
def webhook_endpoint(endpoint_id: str):
    try:
        endpoint = webhooks().get(endpoint_id)
    except BookingError as missing:
        return page("console/problem.html", http_status(missing), heading="No such webhook endpoint", message=missing.message)
    return page("console/webhook.html", endpoint=endpoint, deliveries=webhooks().deliveries(endpoint_id),
                notice=NOTICES.get(request.args.get("notice", "")))


@bp.post("/webhooks/<string:endpoint_id>/deliveries/<string:delivery_id>/replay")
@console_view(*ADMINS)
def replay_webhook_delivery(endpoint_id: str, delivery_id: str):
    try:
        webhooks().replay(current_staff(), endpoint_id, delivery_id)
    except BookingError as missing:
        return page("console/problem.html", http_status(missing), heading="No such delivery", message=missing.message)
    return redirect(url_for("console.webhook_endpoint", endpoint_id=endpoint_id, notice="replayed"), 303)
