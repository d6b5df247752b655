"""A booking's notification log for the console page. It lives in the reminders service; the page's
script asks the console, which asks reminders server-side as the signed-in staff member, so the
session cookie never has to be a credential any other service accepts."""
from __future__ import annotations

from urllib.parse import quote

import requests
from flask import jsonify

from kapbook_booking.entrypoints.web.console.access import bp, call_as_staff, console_view, service_credential
from kapbook_booking.entrypoints.wiring import container

TIMEOUT_SECONDS = 5.0


@bp.get("/bookings/<string:booking_id>/notifications")
@console_view()
def booking_notifications(booking_id: str):
    """The reminders service's answer for this booking, passed through (status and JSON)."""
    url = f"{container().config.reminders_url.rstrip('/')}/api/reminders/v1/notifications?booking_id={quote(booking_id, safe='')}"
    try:
        answer = call_as_staff(requests.Session(), "GET", url, service_credential(), timeout=TIMEOUT_SECONDS)
        body, status = answer.json(), answer.status_code
    except (requests.RequestException, ValueError):
        body, status = {"code": "service_unavailable", "message": "The reminders service is not answering.", "errors": None}, 503
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"  # patients' notification history
    return response
