"""Staff use cases for clinicians' schedules: weekly working hours, date overrides and time off.

Hours are local wall-clock times at a location (its IANA zone applies); time off is a pair of
instants. Admins and front desk change any clinician's schedule; a clinician (a staff member of
role clinician linked to a clinician record) changes only their own, else 403 ``not_your_schedule``. Writes to one clinician's schedule are serialised by locking the clinician's row, so
two staff members cannot both add an interval that overlaps the other's.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Table

from kapbook_booking.adapters import tables
from kapbook_booking.adapters.schedule_repository import (
    bookings_between,
    linked_clinician_id,
    override_rows,
    overrides_on,
    time_off_ending_after,
    weekly_hours_from,
    weekly_hours_of,
    working_hours_rows,
)
from kapbook_booking.domain.availability import WeeklyHours
from kapbook_booking.service_layer.staff_records import StaffWrites, fetch_or_404, require_exists
from kapbook_platform.clock import Clock
from kapbook_platform.staff.principal import StaffPrincipal
from kapbook_booking.service_layer.errors import Forbidden, Invalid

Record = dict[str, Any]
MAX_TIME_OFF = timedelta(days=366)


class NotYourSchedule(Forbidden):
    """A clinician tried to change another clinician's schedule (or is linked to no clinician)."""

    code = "not_your_schedule"


def check_own_schedule(session, actor: StaffPrincipal, clinician_id: str) -> None:
    """403 ``not_your_schedule`` unless ``actor`` may change this clinician's schedule: admins and
    front desk may change any; a clinician only the record their account is linked to."""
    if actor.role != "clinician":
        return
    if linked_clinician_id(session, actor.staff_id) != clinician_id:
        raise NotYourSchedule("Clinicians change only their own schedule; ask an admin or the front desk.")


def overlapping_bookings(session, clinician_id: str, start: datetime, end: datetime) -> list[Record]:
    """The appointments time off [start, end) would leave without a clinician: ids, times and the
    patient's first name only (no health data, no full name)."""
    return [{"booking_id": row["id"], "start": row["start"], "end": row["end"],
             "patient_first_name": (row["patient_name"] or "").split(" ")[0] or None}
            for row in bookings_between(session, clinician_id, start, end)]


def overlap_warning(overlaps: list[Record]) -> str | None:
    """"2 appointments fall in this time off: <when, first name>, ...; reschedule or cancel them."
    (UTC times; None when none)."""
    if not overlaps:
        return None
    noun = "appointment falls" if len(overlaps) == 1 else "appointments fall"
    listed = ", ".join(f"{booking['start'].astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC {booking['patient_first_name'] or 'patient'}"
                       for booking in overlaps)
    return f"{len(overlaps)} {noun} in this time off: {listed}; reschedule or cancel them."


def invalid(message: str, field: str, problem: str) -> Invalid:
    """A 422 about one field."""
    return Invalid(message, errors={field: [problem]})


def validated_weekly_hours(values: Mapping[str, Any], others: Iterable[WeeklyHours]) -> WeeklyHours:
    """The interval ``values`` give; 422 unless it is in order and overlaps none of the clinician's others."""
    if values["end_time"] <= values["start_time"]:
        raise invalid("Working hours must end after they start, on the same day.", "end_time", "Must be after start_time.")
    effective_from, effective_until = values["effective_from"], values["effective_until"]
    if effective_from and effective_until and effective_until < effective_from:
        raise invalid("effective_until is before effective_from.", "effective_until", "Must not be before effective_from.")
    candidate = weekly_hours_from(values)
    clash = next((other for other in others if candidate.overlaps(other)), None)
    if clash is not None:
        raise Invalid(
            f"{candidate.describe()} overlaps the clinician's {clash.describe()} interval in the same effective period.",
            code="overlapping_hours",
            errors={"start_time": [f"Overlaps {clash.describe()}."]},
        )
    return candidate


@dataclass(frozen=True)
class StaffSchedules:
    writes: StaffWrites
    clock: Clock

    def own_clinician_id(self, actor: StaffPrincipal | None) -> str | None:
        """The clinician record ``actor`` is linked to (a clinician's own schedule and calendar), or None."""
        if actor is None:
            return None
        with self.writes.reading() as session:
            return linked_clinician_id(session, actor.staff_id)

    def may_change(self, actor: StaffPrincipal | None, clinician_id: str) -> bool:
        """Whether ``actor`` may change this clinician's schedule (what the console offers)."""
        if actor is None or actor.role not in ("admin", "front_desk", "clinician"):
            return False
        return actor.role != "clinician" or self.own_clinician_id(actor) == clinician_id

    # --- weekly working hours ------------------------------------------------------

    def working_hours(self, clinician_id: str) -> list[Record]:
        """The clinician's weekly intervals, by weekday and start."""
        with self.writes.reading() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician")
            return working_hours_rows(session, clinician_id)

    def add_working_hours(self, actor: StaffPrincipal, clinician_id: str, values: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician", lock=True)
            check_own_schedule(session, actor, clinician_id)
            require_exists(session, tables.locations, values["location_id"], "location_id", "location")
            validated_weekly_hours(values, weekly_hours_of(session, clinician_id))
            row = {**values, "clinician_id": clinician_id}
            hours_id = self.writes.insert(session, actor, tables.working_hours, "working_hours", row)
        return self._one(tables.working_hours, hours_id, "working-hours interval")

    def update_working_hours(self, actor: StaffPrincipal, hours_id: str, changes: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.working_hours, hours_id, "working-hours interval", lock=True)
            fetch_or_404(session, tables.clinicians, row["clinician_id"], "clinician", lock=True)
            check_own_schedule(session, actor, row["clinician_id"])
            if "location_id" in changes:
                require_exists(session, tables.locations, changes["location_id"], "location_id", "location")
            others = weekly_hours_of(session, row["clinician_id"], excluding=hours_id)
            validated_weekly_hours({**row, **changes}, others)
            self.writes.update(session, actor, tables.working_hours, "working_hours", row, changes)
        return self._one(tables.working_hours, hours_id, "working-hours interval")

    def remove_working_hours(self, actor: StaffPrincipal, hours_id: str) -> None:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.working_hours, hours_id, "working-hours interval", lock=True)
            check_own_schedule(session, actor, row["clinician_id"])
            self.writes.delete(session, actor, tables.working_hours, "working_hours", hours_id)

    # --- date overrides -------------------------------------------------------------

    def overrides(self, clinician_id: str, since: date | None = None) -> list[Record]:
        """The clinician's date overrides by date, from ``since`` on when given."""
        with self.writes.reading() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician")
            return [_override_view(row) for row in override_rows(session, clinician_id, since)]

    def add_override(self, actor: StaffPrincipal, clinician_id: str, values: Mapping[str, Any]) -> Record:
        """Close a day (no times) or give it replacement hours (one interval per override)."""
        with self.writes.unit_of_work() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician", lock=True)
            check_own_schedule(session, actor, clinician_id)
            require_exists(session, tables.locations, values["location_id"], "location_id", "location")
            _check_override(values, overrides_on(session, clinician_id, values["date"]))
            row = {**values, "clinician_id": clinician_id}
            override_id = self.writes.insert(session, actor, tables.schedule_overrides, "schedule_override", row)
        return _override_view(self._one(tables.schedule_overrides, override_id, "date override"))

    def remove_override(self, actor: StaffPrincipal, override_id: str) -> None:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.schedule_overrides, override_id, "date override", lock=True)
            check_own_schedule(session, actor, row["clinician_id"])
            self.writes.delete(session, actor, tables.schedule_overrides, "schedule_override", override_id)

    # --- time off ----------------------------------------------------------------------

    def time_off(self, clinician_id: str, since: datetime | None = None) -> list[Record]:
        """The clinician's time off that ends after ``since`` (default: now), by start."""
        with self.writes.reading() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician")
            return time_off_ending_after(session, clinician_id, since or self.clock())

    def add_time_off(self, actor: StaffPrincipal, clinician_id: str, values: Mapping[str, Any]) -> Record:
        """Add time off; it is added even over booked appointments, which come back in
        ``overlapping_bookings`` so someone reschedules or cancels them."""
        _check_time_off(values["start"], values["end"])
        with self.writes.unit_of_work() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician", lock=True)
            check_own_schedule(session, actor, clinician_id)
            time_off_id = self.writes.insert(session, actor, tables.time_off, "time_off", {**values, "clinician_id": clinician_id})
        return self.time_off_with_overlaps(time_off_id)

    def time_off_with_overlaps(self, time_off_id: str) -> Record:
        """One time off, with the booked appointments that fall in it."""
        with self.writes.reading() as session:
            row = dict(fetch_or_404(session, tables.time_off, time_off_id, "time off"))
            overlaps = overlapping_bookings(session, row["clinician_id"], row["start"], row["end"])
        return row | {"overlapping_bookings": overlaps, "warning": overlap_warning(overlaps)}

    def remove_time_off(self, actor: StaffPrincipal, time_off_id: str) -> None:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.time_off, time_off_id, "time off", lock=True)
            check_own_schedule(session, actor, row["clinician_id"])
            self.writes.delete(session, actor, tables.time_off, "time_off", time_off_id)

    def _one(self, table: Table, record_id: str, label: str) -> Record:
        with self.writes.reading() as session:
            return dict(fetch_or_404(session, table, record_id, label))


def _check_override(values: Mapping[str, Any], same_day: list[Record]) -> None:
    """A closed day excludes other overrides at that location; replacement hours must not overlap."""
    start, end = values.get("start_time"), values.get("end_time")
    if (start is None) != (end is None):
        raise invalid("Give both start_time and end_time, or neither to close the day.", "end_time", "Needs start_time too.")
    if start is not None and end <= start:
        raise invalid("Override hours must end after they start, on the same day.", "end_time", "Must be after start_time.")
    for other in same_day:
        same_place = other["location_id"] == values["location_id"]
        if same_place and (start is None or other["start_time"] is None):
            raise Invalid(
                "This day has a conflicting override at this location already: a closed day has no other hours. Remove it first.",
                code="overlapping_override",
            )
        if start is not None and other["start_time"] is not None and start < other["end_time"] and other["start_time"] < end:
            raise Invalid(
                f"These hours overlap the override {other['start_time']:%H:%M}-{other['end_time']:%H:%M} on the same day.",
                code="overlapping_override",
            )


def _check_time_off(start: datetime, end: datetime) -> None:
    if end <= start:
        raise invalid("Time off must end after it starts.", "end", "Must be after start.")
    if end - start > MAX_TIME_OFF:
        raise invalid("Time off is limited to one year per entry; add another entry for longer.", "end", "Too long.")


def _override_view(row: Mapping[str, Any]) -> Record:
    return {**row, "closed": row["start_time"] is None}
