"""Clinicians' schedules in the console: weekly working hours, date overrides and time off.

Any staff member reads; admins and front desk change them, a linked clinician their own only. Forms are validated by the same
schemas as the staff API, then handed to the same use cases.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import redirect, request, url_for
from marshmallow import Schema, ValidationError

from kapbook_booking.domain.availability import WEEKDAYS
from kapbook_booking.entrypoints.http.staff_access import catalog, schedules
from kapbook_booking.entrypoints.http.staff_calendars_schemas import CalendarConnectionRequestSchema
from kapbook_booking.entrypoints.http.staff_schedules_schemas import (
    ScheduleOverrideRequestSchema,
    TimeOffRequestSchema,
    WorkingHoursChangeSchema,
    WorkingHoursRequestSchema,
)
from kapbook_booking.entrypoints.web.console.access import SCHEDULE_WRITERS, bp, console_view, page
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.entrypoints.web.console.choices import local_instant, pick_zone
from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.service_layer.errors import BookingError

NOTICES = {
    "hours_added": "Working hours added.", "hours_saved": "Working hours saved.", "hours_removed": "Working hours removed.",
    "override_added": "Date override added.", "override_removed": "Date override removed.",
    "time_off_added": "Time off added.", "time_off_removed": "Time off removed.",
    "calendar_connected": "Calendar connected. Its busy times are read within a few seconds.",
    "calendar_synced": "Calendar synced.",
    "calendar_sync_failed": "The calendar could not be read; the reason is shown beside it.", "calendar_paused": "Calendar paused: its busy times no longer block bookings.",
    "calendar_resumed": "Calendar resumed.", "calendar_removed": "Calendar disconnected.",
}
CALENDAR_WRITERS = ("admin", "clinician")


class FormProblem(Exception):
    """A form the schema or the use case refused: a message and per-field messages."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields


def _load(schema: Schema, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(values)
    except ValidationError as invalid:
        fields = {name: " ".join(map(str, problems)) for name, problems in invalid.messages.items()}
        raise FormProblem("Please correct the fields marked below.", fields) from None


def _optional(name: str) -> str | None:
    return request.form.get(name, "").strip() or None


def _weekday(raw: str | None) -> int | str | None:
    return int(raw) if raw and raw.isdigit() else raw


# --- pages -----------------------------------------------------------------------------------------


@bp.get("/clinicians")
@console_view()
def clinicians():
    """Every clinician, with what they deliver and where they work."""
    places = {place["id"]: place for place in catalog().locations()}
    return page("console/clinicians.html", clinicians=catalog().clinicians(), places=places)


@bp.get("/clinicians/<string:clinician_id>")
@console_view()
def clinician_schedule(clinician_id: str):
    return _schedule_page(clinician_id, notice=NOTICES.get(request.args.get("notice", "")))


def _schedule_page(clinician_id: str, status: int = 200, notice: str | None = None, problem: FormProblem | None = None,
                   form_name: str | None = None):
    try:
        clinician = catalog().clinician(clinician_id)
    except BookingError as missing:
        return page("console/problem.html", http_status(missing), heading="No such clinician", message=missing.message)
    locations = catalog().locations()
    places = {place["id"]: place for place in locations}
    home = next((places[i] for i in clinician["location_ids"] if i in places), locations[0] if locations else None)
    zone = pick_zone(request.values.get("tz"), home["timezone"] if home else "UTC")
    use_cases = schedules()
    return page(
        "console/schedule.html", status, clinician=clinician, places=places, locations=locations, zone=zone,
        hours=use_cases.working_hours(clinician_id), overrides=use_cases.overrides(clinician_id, container().clock().astimezone(ZoneInfo(zone)).date()),
        time_off=[_localised(period, zone) for period in use_cases.time_off(clinician_id)], weekdays=WEEKDAYS,
        notice=notice, problem=problem, form_name=form_name, form=request.form,
        time_off_warning=_time_off_warning(clinician_id, request.args.get("overlaps"), zone),
        can_schedule=use_cases.may_change(current_staff(), clinician_id),
        calendars=_calendars_of(clinician_id), can_connect=_may_connect(clinician_id), zone_info=ZoneInfo(zone),
        zones=sorted({place["timezone"] for place in locations} | {zone, "UTC"}),
    )


# --- time off over booked appointments (clin) -------------------------------------------------------


def _time_off_warning(clinician_id: str, time_off_id: str | None, zone: str) -> dict[str, Any] | None:
    """The appointments that fall in the time off just added (``?overlaps=<id>``), local to ``zone``."""
    if not time_off_id:
        return None
    try:
        added = schedules().time_off_with_overlaps(time_off_id)
    except BookingError:
        return None
    if added["clinician_id"] != clinician_id or not added["overlapping_bookings"]:
        return None
    return {"message": added["warning"], "bookings": [_localised(booking, zone) for booking in added["overlapping_bookings"]]}


def _localised(period: dict[str, Any], zone: str) -> dict[str, Any]:
    local = ZoneInfo(zone)
    return period | {"start": period["start"].astimezone(local), "end": period["end"].astimezone(local)}


def _change(clinician_id: str, form_name: str, notice: str, action):
    """Run one schedule change; back to the page with a notice, or the form again with its problems."""
    try:
        extra = action() or {}
    except FormProblem as problem:
        return _schedule_page(clinician_id, 422, problem=problem, form_name=form_name)
    except BookingError as refusal:
        fields = {name: " ".join(map(str, problems)) for name, problems in (refusal.errors or {}).items()}
        return _schedule_page(clinician_id, http_status(refusal), problem=FormProblem(refusal.message, fields), form_name=form_name)
    return redirect(url_for("console.clinician_schedule", clinician_id=clinician_id, notice=notice, **extra), code=303)


# --- weekly hours ------------------------------------------------------------------------------------------


def _hours_form() -> dict[str, Any]:
    return {"location_id": request.form.get("location_id", ""), "weekday": _weekday(request.form.get("weekday")),
            "start_time": request.form.get("start_time", ""), "end_time": request.form.get("end_time", ""),
            "effective_from": _optional("effective_from"), "effective_until": _optional("effective_until")}


@bp.post("/clinicians/<string:clinician_id>/working-hours")
@console_view(*SCHEDULE_WRITERS)
def add_working_hours(clinician_id: str):
    def add():
        schedules().add_working_hours(current_staff(), clinician_id, _load(WorkingHoursRequestSchema(), _hours_form()))

    return _change(clinician_id, "add_hours", "hours_added", add)


@bp.post("/clinicians/<string:clinician_id>/working-hours/<string:hours_id>")
@console_view(*SCHEDULE_WRITERS)
def save_working_hours(clinician_id: str, hours_id: str):
    def save():
        changes = {"start_time": request.form.get("start_time", ""), "end_time": request.form.get("end_time", "")}
        schedules().update_working_hours(current_staff(), hours_id, _load(WorkingHoursChangeSchema(), changes))

    return _change(clinician_id, f"hours_{hours_id}", "hours_saved", save)


@bp.post("/clinicians/<string:clinician_id>/working-hours/<string:hours_id>/remove")
@console_view(*SCHEDULE_WRITERS)
def remove_working_hours(clinician_id: str, hours_id: str):
    return _change(clinician_id, f"hours_{hours_id}", "hours_removed",
                   lambda: schedules().remove_working_hours(current_staff(), hours_id))


# --- date overrides -------------------------------------------------------------------------------------


@bp.post("/clinicians/<string:clinician_id>/overrides")
@console_view(*SCHEDULE_WRITERS)
def add_override(clinician_id: str):
    def add():
        values = {"location_id": request.form.get("location_id", ""), "date": request.form.get("date", ""),
                  "start_time": _optional("start_time"), "end_time": _optional("end_time")}
        schedules().add_override(current_staff(), clinician_id, _load(ScheduleOverrideRequestSchema(), values))

    return _change(clinician_id, "add_override", "override_added", add)


@bp.post("/clinicians/<string:clinician_id>/overrides/<string:override_id>/remove")
@console_view(*SCHEDULE_WRITERS)
def remove_override(clinician_id: str, override_id: str):
    return _change(clinician_id, "overrides", "override_removed",
                   lambda: schedules().remove_override(current_staff(), override_id))


# --- time off ------------------------------------------------------------------------------------------------


@bp.post("/clinicians/<string:clinician_id>/time-off")
@console_view(*SCHEDULE_WRITERS)
def add_time_off(clinician_id: str):
    def add():
        zone = pick_zone(request.form.get("tz"), "UTC")
        start = local_instant(request.form.get("start_date", ""), request.form.get("start_time", ""), zone)
        end = local_instant(request.form.get("end_date", ""), request.form.get("end_time", ""), zone)
        missing = {name: "Enter a date and a time." for name, moment in (("start", start), ("end", end)) if moment is None}
        if missing:
            raise FormProblem("Please enter when the time off starts and ends.", missing)
        values = {"start": start.isoformat(), "end": end.isoformat(), "reason": _optional("reason")}
        added = schedules().add_time_off(current_staff(), clinician_id, _load(TimeOffRequestSchema(), values))
        # Appointments in it: the page after the redirect lists them (see _time_off_warning).
        return {"overlaps": added["id"]} if added["overlapping_bookings"] else {}

    return _change(clinician_id, "add_time_off", "time_off_added", add)


@bp.post("/clinicians/<string:clinician_id>/time-off/<string:time_off_id>/remove")
@console_view(*SCHEDULE_WRITERS)
def remove_time_off(clinician_id: str, time_off_id: str):
    return _change(clinician_id, "time_off", "time_off_removed",
                   lambda: schedules().remove_time_off(current_staff(), time_off_id))


# --- the clinician's own calendars (CalDAV) ------------------------------------------------------------------


def _calendars_of(clinician_id: str) -> list[dict[str, Any]] | None:
    """The clinician's connected calendars, or None when this staff member may not see them."""
    try:
        return container().calendars.list_for(current_staff(), clinician_id)
    except BookingError:
        return None


def _may_connect(clinician_id: str) -> bool:
    actor = current_staff()
    return actor.role == "admin" or (actor.role == "clinician" and schedules().own_clinician_id(actor) == clinician_id)


@bp.post("/clinicians/<string:clinician_id>/calendars")
@console_view(*CALENDAR_WRITERS)
def connect_calendar(clinician_id: str):
    def connect():
        values = {name: request.form.get(name, "").strip() for name in ("url", "username", "timezone")}
        values |= {"password": request.form.get("password", ""), "push_bookings": request.form.get("push_bookings") == "true"}
        container().calendars.create(current_staff(), clinician_id, _load(CalendarConnectionRequestSchema(), values))

    return _change(clinician_id, "connect_calendar", "calendar_connected", connect)


@bp.post("/clinicians/<string:clinician_id>/calendars/<string:connection_id>/sync")
@console_view(*CALENDAR_WRITERS)
def sync_calendar(clinician_id: str, connection_id: str):
    outcome = {}

    def sync():
        outcome.update(container().calendars.sync_now(current_staff(), connection_id))

    answer = _change(clinician_id, "calendars", "calendar_synced", sync)
    if outcome.get("last_error"):  # the page shows why, beside the calendar
        return redirect(url_for("console.clinician_schedule", clinician_id=clinician_id, notice="calendar_sync_failed"), code=303)
    return answer


@bp.post("/clinicians/<string:clinician_id>/calendars/<string:connection_id>/active")
@console_view(*CALENDAR_WRITERS)
def pause_calendar(clinician_id: str, connection_id: str):
    active = request.form.get("active") == "true"

    def pause_or_resume():
        container().calendars.update(current_staff(), connection_id, {"active": active})

    return _change(clinician_id, "calendars", "calendar_resumed" if active else "calendar_paused", pause_or_resume)


@bp.post("/clinicians/<string:clinician_id>/calendars/<string:connection_id>/remove")
@console_view(*CALENDAR_WRITERS)
def remove_calendar(clinician_id: str, connection_id: str):
    return _change(clinician_id, "calendars", "calendar_removed",
                   lambda: container().calendars.delete(current_staff(), connection_id))
