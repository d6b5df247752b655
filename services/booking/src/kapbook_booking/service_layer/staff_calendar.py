"""The staff calendar: one clinician's or one room's day or week, in the zone the viewer asks for.

A view costs a fixed handful of queries whatever it holds: the subject, the bookings (with
their type, clinician, location and room joined in), and for a clinician their time off,
weekly hours and date overrides. Working hours are read by the availability loader and
converted by the availability engine, so the calendar and the slots agree across DST changes.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables
from kapbook_booking.adapters.calendar_repository import calendar_bookings, room_with_location
from kapbook_booking.adapters.calendar_connection_repository import busy_between
from kapbook_booking.adapters.schedule_repository import time_off_between
from kapbook_booking.adapters.schedules import load_working_hours
from kapbook_booking.domain.availability import local_to_utc, working_intervals_between
from kapbook_booking.service_layer.staff_records import StaffWrites, fetch_or_404
from kapbook_platform.clock import Clock
from kapbook_booking.service_layer.errors import NotFound

Record = dict[str, Any]
View = Literal["day", "week"]
# Hours are looked up this many local days beyond the range: a day's hours can spill across UTC midnight.
SPARE_DAYS = timedelta(days=2)


@dataclass(frozen=True)
class CalendarQuery:
    """Query: a day or the ISO week (Monday to Sunday) around ``day``, for one clinician or one room."""

    view: View
    day: date
    zone: ZoneInfo
    clinician_id: str | None = None
    room_id: str | None = None
    include_cancelled: bool = False

    def __post_init__(self) -> None:
        if (self.clinician_id is None) == (self.room_id is None):
            raise ValueError("a calendar is for one clinician or one room")


def calendar_range(view: View, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of local midnight starting the range and the one ending it."""
    first = day if view == "day" else day - timedelta(days=day.weekday())
    after = first + timedelta(days=1 if view == "day" else 7)
    return local_to_utc(zone, first, time(0)), local_to_utc(zone, after, time(0))


@dataclass(frozen=True)
class StaffCalendar:
    writes: StaffWrites
    clock: Clock

    def view(self, query: CalendarQuery) -> Record:
        """Bookings (holds included, with status), time off, busy times from the clinician's own calendars
        and working intervals in the range."""
        start, end = calendar_range(query.view, query.day, query.zone)
        with self.writes.reading() as session:
            if query.clinician_id is not None:
                subject = {"clinician": _clinician(session, query.clinician_id), "room": None}
                time_off = time_off_between(session, query.clinician_id, start, end)
                calendar_busy = busy_between(session, query.clinician_id, start, end)
                working = _working_intervals(session, query.clinician_id, start, end)
            else:
                subject = {"clinician": None, "room": _room(session, query.room_id or "")}
                time_off, working, calendar_busy = [], [], []
            bookings = calendar_bookings(
                session, start, end, self.clock(), clinician_id=query.clinician_id, room_id=query.room_id,
                include_cancelled=query.include_cancelled,
            )
        local = _Localiser(query.zone)
        return {
            "view": query.view,
            "day": query.day,
            "timezone": query.zone.key,
            "start": local(start),
            "end": local(end),
            **subject,
            "bookings": [local.booking(row) for row in bookings],
            "time_off": [local.period(row) for row in time_off],
            "calendar_busy": [local.period(row) for row in calendar_busy],
            "working_intervals": [local.period(row) for row in working],
        }


@dataclass(frozen=True)
class _Localiser:
    """Turns UTC instants into the viewer's zone, so each carries that zone's offset at that instant."""

    zone: ZoneInfo

    def __call__(self, instant: datetime | None) -> datetime | None:
        return instant.astimezone(self.zone) if instant is not None else None

    def period(self, row: Mapping[str, Any]) -> Record:
        return {**row, "start": self(row["start"]), "end": self(row["end"])}

    def booking(self, row: Mapping[str, Any]) -> Record:
        room = {"id": row["room_id"], "name": row["room_name"], "kind": row["room_kind"]} if row["room_id"] else None
        return {
            "id": row["id"],
            "status": row["status"],
            "sequence": row["sequence"],
            "start": self(row["start"]),
            "end": self(row["end"]),
            "blocked_start": self(row["blocked_start"]),
            "blocked_end": self(row["blocked_end"]),
            "hold_expires_at": self(row["hold_expires_at"]),
            "appointment_type": {"code": row["type_code"], "name": row["type_name"], "category": row["type_category"]},
            "clinician": {"id": row["clinician_id"], "name": row["clinician_name"]},
            "location": {"id": row["location_id"], "name": row["location_name"]},
            "room": room,
            "patient_name": row["patient_name"],
        }


def _clinician(session: Session, clinician_id: str) -> Record:
    row = fetch_or_404(session, tables.clinicians, clinician_id, "clinician")
    return {"id": row["id"], "name": row["name"], "role": row["role"], "active": row["active"]}


def _room(session: Session, room_id: str) -> Record:
    room = room_with_location(session, room_id)
    if room is None:
        raise NotFound(f"There is no room with id {room_id!r}.")
    return room


def _working_intervals(session: Session, clinician_id: str, start: datetime, end: datetime) -> list[Record]:
    """The clinician's working intervals per location, clipped to [start, end), in time order."""
    schedules = load_working_hours(session, clinician_id, start.date() - SPARE_DAYS, end.date() + SPARE_DAYS)
    intervals = [
        {"location_id": schedule.location_id, "location_name": name, "start": span.start, "end": span.end}
        for schedule, name in schedules
        for span in working_intervals_between(schedule, start, end)
    ]
    return sorted(intervals, key=lambda interval: interval["start"])
