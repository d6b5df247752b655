"""Patients' pages: the demo clinic page with the widget, the widget script, and the manage page.

The manage page works without JavaScript: it shows the booking, and cancels or reschedules it
with plain forms, within the clinic's notice policy. Routes stay thin: each calls one use case.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from marshmallow import ValidationError

from kapbook_booking.entrypoints import rate_scopes
from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.web.formatting import template_helpers, zone_choices
from kapbook_booking.entrypoints.web.page_headers import secure_page
from kapbook_booking.entrypoints.web.public_catalog import catalog
from kapbook_booking.entrypoints.web.series_access import cancel_remaining_for_token, series_for_token
from kapbook_booking.entrypoints.web.widget_script import widget_script
from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.availability import AvailabilityQuery
from kapbook_booking.service_layer.errors import BookingError
from kapbook_platform.web.ratelimit import public_write
from kapbook_platform.contracts.http import validate_timezone

WIDGET_MAX_AGE = 300  # seconds
WEEK = timedelta(days=6)
NOTICES = {
    "cancelled": "Your appointment is cancelled. We have emailed you a confirmation.",
    "rescheduled": "Your appointment has moved. We have emailed you the new time.",
    "series_cancelled": "The remaining sessions are cancelled. We have emailed you a confirmation.",
    "claimed": "You are booked: the time we held for you is yours. We have emailed you a confirmation.",
}

bp = Blueprint("patient", __name__, template_folder="templates")
assets = Blueprint("assets", __name__, static_folder="static", static_url_path="/assets")


@bp.context_processor
def _helpers() -> dict:
    return template_helpers()


@bp.get("/")
def demo_clinic():
    """A demo clinic website with the booking widget embedded, as a clinic would embed it."""
    public_url = container().config.public_base_url.rstrip("/")
    return secure_page(make_response(render_template("patient/demo.html", public_url=public_url)), private=False)


@bp.get("/widget.js")
def widget_js():
    """The embeddable widget: one script with its stylesheet inlined, no build step."""
    script, changed = widget_script()
    response = Response(script, mimetype="text/javascript")
    response.cache_control.public, response.cache_control.max_age = True, WIDGET_MAX_AGE
    response.expires = container().clock() + timedelta(seconds=WIDGET_MAX_AGE)
    response.last_modified = datetime.fromtimestamp(changed, timezone.utc)
    response.add_etag()
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


# --- the screening step, framed by the widget (issue 14 finding 8) -------------------------------------
# Served here, not by eligibility: booking owns the widget, its script and the HTML pages, and the
# gateway sends every non-API path to booking; the frame posts to /api/eligibility/v1 on this same
# origin. The clinic's page sees only the frame, never the questions or answers.

@bp.get("/screening/frame")
def screening_frame():
    """The questionnaire on Kapbook's origin, framed only by the widget's allowed websites (and us)."""
    allowed = container().config.cors_origins
    public = urlsplit(container().config.public_base_url)
    own = f"{public.scheme}://{public.netloc}"
    parent = request.args.get("origin", "")
    if parent not in allowed and parent != own:
        parent = ""  # the frame then tells nobody the outcome (postMessage needs an exact origin)
    page = render_template("patient/screening_frame.html", type_code=request.args.get("type", ""), parent=parent)
    return secure_page(make_response(page), private=True, framed_by=allowed)


@bp.get("/manage/<string:token>")
def manage(token: str):
    """The booking behind a manage link, with cancel and reschedule."""
    return _manage_page(token, notice=NOTICES.get(request.args.get("notice", "")))


@bp.post("/manage/<string:token>/cancel")
@public_write(scope=rate_scopes.MANAGE_CANCEL)
def cancel(token: str):
    try:
        container().lifecycle.cancel_by_patient(token)
    except BookingError as refusal:
        return _manage_page(token, error=refusal.message, status=http_status(refusal))
    return redirect(url_for("patient.manage", token=token, notice="cancelled"), code=303)


@bp.post("/manage/<string:token>/reschedule")
@public_write(scope=rate_scopes.MANAGE_RESCHEDULE)
def reschedule(token: str):
    try:
        new_start = datetime.fromisoformat(request.form.get("start", ""))
    except ValueError:
        return _manage_page(token, error="Please choose one of the times offered.", status=422, action="reschedule")
    if new_start.tzinfo is None:
        return _manage_page(token, error="Please choose one of the times offered.", status=422, action="reschedule")
    try:
        container().lifecycle.reschedule_by_patient(token, new_start)
    except BookingError as refusal:
        return _manage_page(token, error=refusal.message, status=http_status(refusal), action="reschedule")
    return redirect(url_for("patient.manage", token=token, notice="rescheduled"), code=303)


@bp.post("/manage/<string:token>/series/cancel-remaining")
@public_write()
def cancel_remaining(token: str):
    """Cancel the sessions of this booking's series still to come; past ones stay."""
    try:
        cancel_remaining_for_token(token)
    except BookingError as refusal:
        return _manage_page(token, error=refusal.message, status=http_status(refusal), action="cancel-series")
    return redirect(url_for("patient.manage", token=token, notice="series_cancelled"), code=303)


def _manage_page(token: str, *, notice: str | None = None, error: str | None = None, status: int = 200,
                 action: str | None = None):
    try:
        booking = container().lifecycle.booking_for_token(token)
    except BookingError as refusal:
        page = render_template("patient/link_problem.html", message=refusal.message)
        return secure_page(make_response(page, http_status(refusal)), private=True)
    action = action or request.args.get("action")
    zone = _zone(booking)
    context: dict[str, Any] = {
        "booking": booking, "token": token, "zone": zone, "notice": notice, "error": error, "action": action,
        "kind": _type_named(booking["appointment_type"]), "location": _location(booking["location_id"]),
    }
    context |= {"series": _series(booking, token), "now": container().clock()}
    if action == "reschedule" and booking["status"] == "booked":
        location_zone = context["location"]["timezone"] if context["location"] else None
        context |= _reschedule_choices(booking, zone) | {"zones": zone_choices(zone, booking["patient"]["timezone"], location_zone)}
    return secure_page(make_response(render_template("patient/manage.html", **context), status), private=True)


def _series(booking: dict[str, Any], token: str) -> dict[str, Any] | None:
    """The series this session belongs to (treatment series), or None for a single booking."""
    if not booking.get("series"):
        return None
    try:
        return series_for_token(token)
    except BookingError:
        return None


def _zone(booking: dict[str, Any]) -> str:
    """The zone the patient asked for (?tz=), else the one they booked in."""
    wanted = request.args.get("tz") or booking["patient"]["timezone"] or "UTC"
    try:
        validate_timezone(wanted)
    except ValidationError:
        return booking["patient"]["timezone"] or "UTC"
    return wanted


def _type_named(code: str) -> dict[str, Any]:
    return next((kind for kind in catalog().appointment_types() if kind["code"] == code), {"code": code, "name": code})


def _location(location_id: str) -> dict[str, Any] | None:
    return next((place for place in catalog().locations() if place["id"] == location_id), None)


def _reschedule_choices(booking: dict[str, Any], zone: str) -> dict[str, Any]:
    """A week of free times with the same clinician, starting at ?from= (default: today)."""
    today = container().clock().astimezone(ZoneInfo(zone)).date()
    try:
        first = max(date.fromisoformat(request.args.get("from", "")), today)
    except ValueError:
        first = today
    query = AvailabilityQuery(booking["appointment_type"], first, first + WEEK, zone, clinician_id=booking["clinician_id"])
    try:
        _kind, slots = container().bookings.availability(query)
    except BookingError as refusal:
        return {"slot_error": refusal.message, "days": {}, "first": first}
    days: dict[date, list] = defaultdict(list)
    for slot in slots:
        start = slot.start_utc.astimezone(ZoneInfo(zone))
        days[start.date()].append((start, slot.end_utc.astimezone(ZoneInfo(zone))))
    return {
        "days": dict(days), "first": first, "previous": first - timedelta(days=7) if first > today else None,
        "next": first + timedelta(days=7),
    }
