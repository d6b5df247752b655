"""Treatment series in the console (issue 12 §3): a series page with "cancel the remaining
sessions", booking a whole series for a patient (optionally overriding the protocol, with an
audited reason), and the clinic's protocols as a table with add and edit forms."""
from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from flask import redirect, request, url_for
from marshmallow import ValidationError

from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.http.staff_access import catalog
from kapbook_booking.entrypoints.web import series_access
from kapbook_booking.entrypoints.web.console.access import SCHEDULERS, bp, console_view, page
from kapbook_booking.entrypoints.web.console.bookings import _flatten, _slots
from kapbook_booking.entrypoints.web.console.choices import aware_instant, local_instant, pick_zone, read_date
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.errors import BookingError

NOTICES = {
    "booked": "Series booked. The patient gets one confirmation email listing every session, with an invite for each.",
    "cancelled": "The remaining sessions are cancelled. The patient is told by email.",
    "protocol_added": "Protocol added.",
    "protocol_saved": "Protocol saved.",
}
PROTOCOL_NUMBERS = ("sessions", "min_gap_hours", "max_window_days", "max_per_week", "integration_within_days")
OPTIONAL_RULES = ("max_per_week", "integration_within_days")
MAX_SESSIONS = 60  # the most a POST /series takes


def _kind(code: str) -> dict[str, Any] | None:
    return next((kind for kind in catalog().appointment_types() if kind["code"] == code), None)


# --- one series ------------------------------------------------------------------------------------


@bp.get("/series/<string:series_id>")
@console_view()
def series_detail(series_id: str):
    return _series_page(series_id)


def _series_page(series_id: str, status: int = 200, error: str | None = None):
    try:
        series = series_access.series_view(series_id)
    except BookingError:
        series = None
    if series is None:
        return page("console/problem.html", 404, heading="No such series", message="There is no treatment series with that reference.")
    first = series["sessions"][0] if series["sessions"] else None
    location = next((p for p in catalog().locations() if first and p["id"] == first["location_id"]), None)
    zone = pick_zone(request.values.get("tz"), location["timezone"] if location else "UTC")
    now = container().clock()
    remaining = [s for s in series["sessions"] if s["status"] == "booked" and s["start"] > now]
    return page("console/series.html", status, series=series, zone=zone, now=now, remaining=remaining, error=error,
                kind=_kind(first["appointment_type"]) if first else None, form=request.form,
                notice=NOTICES.get(request.args.get("notice", "")) if status == 200 else None)


@bp.post("/series/<string:series_id>/cancel-remaining")
@console_view(*SCHEDULERS)
def cancel_series(series_id: str):
    reason = request.form.get("reason", "").strip()
    if len(reason) < 3:
        return _series_page(series_id, 422, error="Please give a reason for cancelling the remaining sessions (it is recorded).")
    try:
        series_access.cancel_remaining_by_staff(series_id, current_staff(), reason)
    except BookingError as refusal:
        return _series_page(series_id, http_status(refusal), error=refusal.message)
    return redirect(url_for("console.series_detail", series_id=series_id, notice="cancelled"), code=303)


# --- booking a series for a patient ------------------------------------------------------------------


@bp.get("/series/new")
@console_view(*SCHEDULERS)
def new_series():
    """Choose a protocol and a day, then the first session, then check the plan and the patient."""
    return _new_series_page()


def _new_series_page(status: int = 200, errors: dict | None = None, error: str | None = None):
    args = request.values
    locations = catalog().locations()
    zone = pick_zone(args.get("tz"), locations[0]["timezone"] if locations else "UTC")
    day = read_date(args.get("date"), container().clock().astimezone(ZoneInfo(zone)).date())
    protocols = series_access.protocols()
    protocol = next((p for p in protocols if p["code"] == args.get("protocol")), None)
    kind = _kind(protocol["appointment_type"]) if protocol else None
    slots, slot_error = _slots(kind["code"], day, zone, None) if kind else ([], None)
    start_text, _, first_clinician = args.get("start", "").partition("|")
    first = aware_instant(start_text)
    plan, plan_error = None, None
    if protocol and first:
        try:
            plan = series_access.propose(protocol["code"], first, zone, first_clinician or None)
        except BookingError as refusal:
            plan_error = _refusal_text(refusal)
    return page(
        "console/new_series.html", status, protocols=protocols, protocol=protocol, kind=kind, day=day, zone=zone,
        zones=sorted({p["timezone"] for p in locations} | {zone, "UTC"}), slots=slots, slot_error=slot_error,
        first=first.astimezone(ZoneInfo(zone)) if first else None, first_clinician=first_clinician, plan=plan,
        plan_error=plan_error, form=args, errors=errors or {}, error=error, local=lambda moment: moment.astimezone(ZoneInfo(zone)),
        idempotency_key=args.get("idempotency_key") or str(uuid.uuid4()),
    )


def _refusal_text(refusal: BookingError) -> str:
    """A refusal with its per-session reasons spelled out ("session 3: ...")."""
    sessions = (getattr(refusal, "errors", None) or {}).get("sessions") or {}
    reasons = [f"session {position}: {' '.join(v if isinstance(v, list) else [v])}" for position, v in sorted(sessions.items(), key=lambda i: int(i[0]))]
    return refusal.message + (" (" + "; ".join(reasons) + ")" if reasons else "")


@bp.post("/series")
@console_view(*SCHEDULERS)
def create_series():
    form = request.form
    zone = pick_zone(form.get("tz"), "UTC")
    raw_count = form.get("count", "")
    count = min(int(raw_count), MAX_SESSIONS) if raw_count.isdigit() else 0  # a forged form is a 422, never a 500
    sessions, bad = [], {}
    for position in range(1, count + 1):
        start = local_instant(form.get(f"date_{position}", ""), form.get(f"time_{position}", ""), zone)
        if start is None:
            bad[f"session_{position}"] = "Enter a date and a time."
        sessions.append({"start": start.isoformat() if start else None, "clinician_id": form.get(f"clinician_{position}") or None})
    body = {
        "protocol": form.get("protocol", ""), "timezone": zone, "sessions": sessions,
        "screening_id": form.get("screening_id", "").strip() or None, "driver_confirmed": form.get("driver_confirmed") == "yes",
        "override_reason": form.get("override_reason", "").strip() or None,
        "patient": {"name": form.get("patient_name", "").strip(), "email": form.get("patient_email", "").strip(),
                    "phone": form.get("patient_phone", "").strip() or None, "timezone": form.get("patient_timezone", "")},
    }
    if bad:
        return _new_series_page(422, errors=bad, error="Please give every session a date and a time.")
    try:
        series = series_access.book_series(body, form.get("idempotency_key") or None, current_staff())
    except ValidationError as invalid:
        return _new_series_page(422, errors=_flatten(invalid.messages), error="Please correct the fields marked below.")
    except BookingError as refusal:
        return _new_series_page(http_status(refusal), error=_refusal_text(refusal))
    return redirect(url_for("console.series_detail", series_id=series["id"], notice="booked"), code=303)


# --- protocols -------------------------------------------------------------------------------------------


@bp.get("/protocols")
@console_view()
def protocols():
    return _protocols_page(notice=NOTICES.get(request.args.get("notice", "")))


def _protocols_page(status: int = 200, notice: str | None = None, error: str | None = None, errors: dict | None = None,
                    editing: str | None = None):
    types = [kind for kind in catalog().appointment_types() if kind["active"]]
    return page("console/protocols.html", status, protocols=series_access.protocols(active_only=False), types=types,
                type_names={kind["code"]: kind["name"] for kind in catalog().appointment_types()},
                notice=notice, error=error, errors=errors or {}, form=request.form, editing=editing)


def _protocol_values(form) -> dict[str, Any]:
    """The form as the POST/PATCH /protocols body: a blank optional rule is "no such rule"."""
    values: dict[str, Any] = {"name": form.get("name", "").strip(), "appointment_type": form.get("appointment_type", ""),
                              "requires_preparation": form.get("requires_preparation") == "yes",
                              "active": form.get("active") == "yes"}
    if form.get("code") is not None:
        values["code"] = form.get("code", "").strip()
    for name in PROTOCOL_NUMBERS:
        raw = form.get(name, "").strip()
        if raw:
            values[name] = int(raw) if raw.isdigit() else raw  # not a number: the schema says so
        elif name in OPTIONAL_RULES:
            values[name] = None
    return values


@bp.post("/protocols")
@console_view("admin")
def create_protocol():
    try:
        series_access.create_protocol(_protocol_values(request.form), current_staff())
    except ValidationError as invalid:
        return _protocols_page(422, error="Please correct the fields marked below.", errors=_flatten(invalid.messages))
    except BookingError as refusal:
        return _protocols_page(http_status(refusal), error=refusal.message)
    return redirect(url_for("console.protocols", notice="protocol_added"), code=303)


@bp.post("/protocols/<string:protocol_id>")
@console_view("admin")
def update_protocol(protocol_id: str):
    values = _protocol_values(request.form)
    values.pop("code", None)
    try:
        series_access.update_protocol(protocol_id, values, current_staff())
    except ValidationError as invalid:
        return _protocols_page(422, error="Please correct the fields marked below.", errors=_flatten(invalid.messages), editing=protocol_id)
    except BookingError as refusal:
        return _protocols_page(http_status(refusal), error=refusal.message, editing=protocol_id)
    return redirect(url_for("console.protocols", notice="protocol_saved"), code=303)

