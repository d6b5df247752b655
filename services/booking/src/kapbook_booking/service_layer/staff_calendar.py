"""The staff calendar: one clinician's or one room's day or week, in the zone the viewer asks for.

A view costs a fixed handful of queries whatever it holds: the subject, the bookings (with
their type, clinician, location and room joined in), and for a clinician their time off,
weekly hours and date overrides. Working intervals come from the availability engine's own
conversion of local hours, so the calendar and the slots agree across DST changes.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables as t
from kapbook_booking.domain.availability import ClinicianSchedule, WeeklyHours, local_to_utc, working_intervals_between
from kapbook_booking.service_layer.staff_records import StaffWrites, fetch_or_404
from kapbook_platform.clock import Clock
from kapbook_platform.web.errors import NotFound

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
        """Bookings (holds included, with status), time off and working intervals in the range."""
        start, end = calendar_range(query.view, query.day, query.zone)
        with self.writes.reading() as session:
            if query.clinician_id is not None:
                subject = {"clinician": _clinician(session, query.clinician_id), "room": None}
                time_off = _time_off(session, query.clinician_id, start, end)
                working = _working_intervals(session, query.clinician_id, start, end)
            else:
                subject = {"clinician": None, "room": _room(session, query.room_id or "")}
                time_off, working = [], []
            bookings = _bookings(session, query, start, end, self.clock())
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

    def booking(self, row: RowMapping) -> Record:
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
    row = fetch_or_404(session, t.clinicians, clinician_id, "clinician")
    return {"id": row["id"], "name": row["name"], "role": row["role"], "active": row["active"]}


def _room(session: Session, room_id: str) -> Record:
    query = (
        select(t.rooms, t.locations.c.name.label("location_name"))
        .join(t.locations, t.locations.c.id == t.rooms.c.location_id)
        .where(t.rooms.c.id == room_id)
    )
    row = session.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"There is no room with id {room_id!r}.")
    return {key: row[key] for key in ("id", "name", "kind", "active", "location_id", "location_name")}


def _bookings(session: Session, query: CalendarQuery, start: datetime, end: datetime, now: datetime) -> list[RowMapping]:
    """Bookings overlapping [start, end) in one query; expired holds are gone already in effect."""
    b, types, rooms = t.bookings, t.appointment_types, t.rooms
    statement = (
        select(
            b.c.id, b.c.status, b.c.sequence, b.c.start, b.c.end, b.c.blocked_start, b.c.blocked_end,
            b.c.hold_expires_at, b.c.patient_name, b.c.clinician_id, b.c.location_id, b.c.room_id,
            types.c.code.label("type_code"), types.c.name.label("type_name"), types.c.category.label("type_category"),
            t.clinicians.c.name.label("clinician_name"), t.locations.c.name.label("location_name"),
            rooms.c.name.label("room_name"), rooms.c.kind.label("room_kind"),
        )
        .join(types, types.c.id == b.c.appointment_type_id)
        .join(t.clinicians, t.clinicians.c.id == b.c.clinician_id)
        .join(t.locations, t.locations.c.id == b.c.location_id)
        .outerjoin(rooms, rooms.c.id == b.c.room_id)
        .where(b.c.start < end, b.c.end > start)
        .where(or_(b.c.status != "held", b.c.hold_expires_at > now))
        .order_by(b.c.start, b.c.id)
    )
    if query.clinician_id is not None:
        statement = statement.where(b.c.clinician_id == query.clinician_id)
    else:
        statement = statement.where(b.c.room_id == query.room_id)
    if not query.include_cancelled:
        statement = statement.where(b.c.status != "cancelled")
    return list(session.execute(statement).mappings())


def _time_off(session: Session, clinician_id: str, start: datetime, end: datetime) -> list[Record]:
    query = (
        select(t.time_off.c.id, t.time_off.c.start, t.time_off.c.end, t.time_off.c.reason)
        .where(t.time_off.c.clinician_id == clinician_id, t.time_off.c.start < end, t.time_off.c.end > start)
        .order_by(t.time_off.c.start)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def _working_intervals(session: Session, clinician_id: str, start: datetime, end: datetime) -> list[Record]:
    """The clinician's working intervals per location, clipped to [start, end), in time order."""
    places = t.locations
    hours = session.execute(
        select(t.working_hours, places.c.name.label("location_name"), places.c.timezone)
        .join(places, places.c.id == t.working_hours.c.location_id)
        .where(t.working_hours.c.clinician_id == clinician_id)
    ).mappings().all()
    overrides = session.execute(
        select(t.schedule_overrides, places.c.name.label("location_name"), places.c.timezone)
        .join(places, places.c.id == t.schedule_overrides.c.location_id)
        .where(
            t.schedule_overrides.c.clinician_id == clinician_id,
            t.schedule_overrides.c.date >= start.date() - SPARE_DAYS,
            t.schedule_overrides.c.date <= end.date() + SPARE_DAYS,
        )
    ).mappings().all()
    intervals = [
        {"location_id": schedule.location_id, "location_name": name, "start": span.start, "end": span.end}
        for schedule, name in _schedules(clinician_id, hours, overrides)
        for span in working_intervals_between(schedule, start, end)
    ]
    return sorted(intervals, key=lambda interval: interval["start"])


def _schedules(
    clinician_id: str, hours: Iterable[RowMapping], overrides: Iterable[RowMapping]
) -> list[tuple[ClinicianSchedule, str]]:
    """One availability-engine schedule per location, with that location's name."""
    weekly: dict[str, list[WeeklyHours]] = defaultdict(list)
    by_date: dict[str, dict[date, list[tuple[time, time]]]] = defaultdict(dict)
    places: dict[str, tuple[str, str]] = {}
    for row in hours:
        places[row["location_id"]] = (row["location_name"], row["timezone"])
        weekly[row["location_id"]].append(
            WeeklyHours(row["weekday"], row["start_time"], row["end_time"], row["effective_from"], row["effective_until"])
        )
    for row in overrides:
        places[row["location_id"]] = (row["location_name"], row["timezone"])
        day = by_date[row["location_id"]].setdefault(row["date"], [])
        if row["start_time"] is not None:
            day.append((row["start_time"], row["end_time"]))
    schedules = []
    for location_id, (name, zone) in places.items():
        # A date with only "closed" rows maps to no hours, as in availability.
        days = {day: tuple(sorted(spans)) for day, spans in by_date[location_id].items()}
        schedule = ClinicianSchedule(
            clinician_id, location_id, ZoneInfo(zone), weekly_hours=tuple(weekly[location_id]), date_overrides=days
        )
        schedules.append((schedule, name))
    return schedules
