"""Bookings in the console: book for a patient, open a booking, move it, cancel it, record the visit."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import redirect, request, url_for
from marshmallow import ValidationError

from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.http.staff_access import catalog
from kapbook_booking.entrypoints.web.console.access import bp, console_view, page
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.entrypoints.web.console.choices import aware_instant, local_instant, pick_zone, read_date
from kapbook_booking.service_layer.availability import AvailabilityQuery
from kapbook_booking.service_layer.bookings import BookAppointment
from kapbook_booking.service_layer.errors import BookingError
from kapbook_platform.contracts.http import BookingRequestSchema

NOTICES = {
    "booked": "Booked. The patient gets a confirmation email with a calendar invite.",
    "cancelled": "Cancelled. The patient is told by email.",
    "rescheduled": "Moved. The patient gets the new time by email.",
    "arrive": "Marked as arrived.",
    "complete": "Marked as completed.",
    "no_show": "Marked as a no-show.",
}
VISITS = ("arrive", "complete", "no_show")


def _types() -> list[dict[str, Any]]:
    return [kind for kind in catalog().appointment_types() if kind["active"]]


def _slots(code: str, day: date, zone: str, clinician_id: str | None) -> tuple[list[dict], str | None]:
    """The free slots of a type on one day, with clinician names, or an explanation."""
    try:
        _kind, slots = container().bookings.availability(AvailabilityQuery(code, day, day, zone, clinician_id=clinician_id))
    except BookingError as refusal:
        return [], refusal.message
    names = container().clinician_names()
    local = ZoneInfo(zone)
    return [{"start": slot.start_utc.astimezone(local), "end": slot.end_utc.astimezone(local),
             "clinician_id": slot.clinician_id, "clinician_name": names.get(slot.clinician_id, "")} for slot in slots], None


# --- booking on a patient's behalf ---------------------------------------------------------------


@bp.get("/bookings/new")
@console_view()
def new_booking():
    """Choose a type and a day, then a free time, then the patient's details."""
    return _new_booking_page()


def _new_booking_page(status: int = 200, errors: dict | None = None, error: str | None = None):
    args = request.values
    locations = catalog().locations()
    zone = pick_zone(args.get("tz"), locations[0]["timezone"] if locations else "UTC")
    day = read_date(args.get("date"), container().clock().astimezone(ZoneInfo(zone)).date())
    types = _types()
    kind = next((k for k in types if k["code"] == args.get("type")), None)
    clinicians = [c for c in catalog().clinicians() if c["active"] and (kind is None or kind["code"] in c["appointment_types"])]
    clinician_id = args.get("clinician") or None
    slots, slot_error = _slots(kind["code"], day, zone, clinician_id) if kind else ([], None)
    start_text, _, slot_clinician = args.get("start", "").partition("|")
    chosen = aware_instant(start_text)
    chosen = chosen.astimezone(ZoneInfo(zone)) if chosen and kind else None
    return page(
        "console/new_booking.html", status, types=types, kind=kind, clinicians=clinicians, clinician_id=clinician_id,
        day=day, zone=zone, zones=sorted({p["timezone"] for p in locations} | {zone, "UTC"}), slots=slots,
        slot_error=slot_error, chosen=chosen, chosen_end=chosen + timedelta(minutes=kind["duration_minutes"]) if chosen else None,
        chosen_clinician=slot_clinician or args.get("clinician_id"), names=container().clinician_names(), form=args,
        errors=errors or {},
        error=error, idempotency_key=args.get("idempotency_key") or str(uuid.uuid4()),
    )


@bp.post("/bookings")
@console_view()
def create_booking():
    form = request.form
    body = {
        "appointment_type": form.get("type", ""), "start": form.get("start", "").partition("|")[0],
        "clinician_id": form.get("clinician_id") or None, "screening_id": form.get("screening_id", "").strip() or None,
        "driver_confirmed": form.get("driver_confirmed") == "yes",
        "patient": {"name": form.get("patient_name", "").strip(), "email": form.get("patient_email", "").strip(),
                    "phone": form.get("patient_phone", "").strip() or None, "timezone": form.get("patient_timezone", "")},
    }
    try:
        command = BookAppointment(**BookingRequestSchema().load(body), idempotency_key=form.get("idempotency_key") or None,
                                  created_by=f"staff:{current_staff().staff_id}")
    except ValidationError as invalid:
        return _new_booking_page(422, errors=_flatten(invalid.messages), error="Please correct the fields marked below.")
    try:
        booking, _created = container().bookings.book(command)
    except BookingError as refusal:
        return _new_booking_page(http_status(refusal), error=refusal.message)
    return redirect(url_for("console.booking_detail", booking_id=booking["id"], notice="booked"), code=303)


def _flatten(messages: dict, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"patient_email": "Not a valid email address."}``."""
    flat: dict[str, str] = {}
    for name, value in messages.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{name}_")
        else:
            flat[f"{prefix}{name}"] = " ".join(value)
    return flat


# --- one booking -------------------------------------------------------------------------------------------


def _booking(booking_id: str) -> dict[str, Any] | None:
    with container().runtime.sessions() as session:
        return container().bookings.view(session, booking_id)


@bp.get("/bookings/<string:booking_id>")
@console_view()
def booking_detail(booking_id: str):
    return _booking_page(booking_id, notice=NOTICES.get(request.args.get("notice", "")))


def _booking_page(booking_id: str, status: int = 200, notice: str | None = None, error: str | None = None,
                  new_manage_url: str | None = None):
    booking = _booking(booking_id)
    if booking is None:
        return page("console/problem.html", 404, heading="No such booking",
                    message="There is no booking with that reference. It may have been a hold that expired.")
    container().audit_trail.staff_read(current_staff(), "booking", booking_id, request.remote_addr)
    location = next((p for p in catalog().locations() if p["id"] == booking["location_id"]), None)
    zone = pick_zone(request.values.get("tz"), location["timezone"] if location else "UTC")
    kind = next((k for k in catalog().appointment_types() if k["code"] == booking["appointment_type"]), None)
    move_day = read_date(request.values.get("move_date"), None)
    slots, slot_error = _slots(booking["appointment_type"], move_day, zone, booking["clinician_id"]) if move_day else ([], None)
    return page(
        "console/booking.html", status, booking=booking, kind=kind, location=location, zone=zone, notice=notice,
        error=error, move_day=move_day, slots=slots, slot_error=slot_error, form=request.form, new_manage_url=new_manage_url,
        start=booking["start"].astimezone(ZoneInfo(zone)), end=booking["end"].astimezone(ZoneInfo(zone)),
    )


@bp.post("/bookings/<string:booking_id>/cancel")
@console_view()
def cancel_booking(booking_id: str):
    reason = request.form.get("reason", "").strip()
    if len(reason) < 3:
        return _booking_page(booking_id, 422, error="Please give a reason for the cancellation (it is recorded).")
    try:
        container().lifecycle.cancel_by_staff(booking_id, current_staff(), reason)
    except BookingError as refusal:
        return _booking_page(booking_id, http_status(refusal), error=refusal.message)
    return redirect(url_for("console.booking_detail", booking_id=booking_id, notice="cancelled"), code=303)


@bp.post("/bookings/<string:booking_id>/reschedule")
@console_view()
def reschedule_booking(booking_id: str):
    form = request.form
    reason = form.get("reason", "").strip()
    zone = pick_zone(form.get("tz"), "UTC")
    new_start = aware_instant(form.get("start")) or local_instant(form.get("move_date", ""), form.get("move_time", ""), zone)
    if new_start is None:
        return _booking_page(booking_id, 422, error="Please choose a free time, or enter a date and time.")
    if len(reason) < 3:
        return _booking_page(booking_id, 422, error="Please give a reason for the move (it is recorded).")
    try:
        container().lifecycle.reschedule_by_staff(booking_id, new_start, current_staff(), reason)
    except BookingError as refusal:
        return _booking_page(booking_id, http_status(refusal), error=refusal.message)
    return redirect(url_for("console.booking_detail", booking_id=booking_id, notice="rescheduled"), code=303)


@bp.post("/bookings/<string:booking_id>/visit")
@console_view()
def record_visit(booking_id: str):
    action = request.form.get("action", "")
    if action not in VISITS:
        return _booking_page(booking_id, 422, error="Unknown action.")
    try:
        container().lifecycle.record_visit(booking_id, action, current_staff())
    except BookingError as refusal:
        return _booking_page(booking_id, http_status(refusal), error=refusal.message)
    return redirect(url_for("console.booking_detail", booking_id=booking_id, notice=action), code=303)


# --- manage-link rotation (issue 14 finding 4) ----------------------------------------------------
@bp.post("/bookings/<string:booking_id>/rotate-manage-link")
@console_view()
def rotate_manage_link(booking_id: str):
    """Every earlier manage link of the booking stops working; the new one is shown once."""
    try:
        booking = container().lifecycle.rotate_manage_link(booking_id, current_staff())
    except BookingError as refusal:
        return _booking_page(booking_id, http_status(refusal), error=refusal.message)
    return _booking_page(booking_id, 200, new_manage_url=booking["manage_url"])
