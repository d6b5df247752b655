"""Loads everything the availability engine needs for one appointment type, in a fixed handful
of queries whatever the number of clinicians and bookings (no N+1)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables as t
from kapbook_booking.domain.availability import ClinicianSchedule, Room, TimeRange, WeeklyHours
from kapbook_booking.domain.model import AppointmentType

ACTIVE_BOOKED = ("booked", "arrived")


def _instant(column, session: Session):
    """On SQLite, read the stored UTC text with its offset appended, for ``fromisoformat`` (much
    faster than the generic datetime processor for thousands of rows); PostgreSQL returns datetimes."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, String).concat("+00:00")
    return column


def _parse(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _stored_range(start, end) -> TimeRange:
    """A range read from the database, where CHECK constraints already guarantee start < end and
    the values are UTC: skip re-validating thousands of them per request."""
    stored = object.__new__(TimeRange)
    object.__setattr__(stored, "start", _parse(start))
    object.__setattr__(stored, "end", _parse(end))
    return stored


def occupying(table, now: datetime):
    """Rows that take time: booked or arrived, and holds that have not expired."""
    return or_(table.c.status.in_(ACTIVE_BOOKED), and_(table.c.status == "held", table.c.hold_expires_at > now))


def load_schedules(
    session: Session,
    kind: AppointmentType,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    clinician_id: str | None = None,
    location_id: str | None = None,
) -> tuple[list[ClinicianSchedule], list[Room]]:
    """The clinicians who deliver ``kind`` (optionally one clinician / location) and the rooms it needs."""
    clinician_ids = _clinicians_for(session, kind.id, clinician_id)
    if not clinician_ids:
        return [], []
    # Anything that overlaps a candidate's blocked range matters, so widen the window by the type's extent.
    reach_start = window_start - kind.buffer_before - kind.duration - kind.buffer_after
    reach_end = window_end + kind.duration + kind.buffer_after + kind.buffer_before
    hours = _weekly_hours(session, clinician_ids, location_id)
    overrides = _overrides(session, clinician_ids, reach_start.date() - timedelta(days=1), reach_end.date() + timedelta(days=1))
    time_off = _ranges_by_clinician(session, t.time_off, clinician_ids, reach_start, reach_end, None)
    busy = _ranges_by_clinician(session, t.bookings, clinician_ids, reach_start, reach_end, occupying(t.bookings, now))
    schedules = [
        ClinicianSchedule(
            clinician_id=clinician,
            location_id=location,
            zone=ZoneInfo(zone),
            weekly_hours=tuple(weekly),
            date_overrides=overrides.get((clinician, location), {}),
            time_off=tuple(time_off.get(clinician, ())),
            busy=tuple(busy.get(clinician, ())),
        )
        for (clinician, location, zone), weekly in sorted(hours.items())
    ]
    rooms = _rooms(session, kind, {s.location_id for s in schedules}, reach_start, reach_end, now) if kind.room_kind else []
    return schedules, rooms


def _clinicians_for(session: Session, type_id: str, clinician_id: str | None) -> list[str]:
    link = t.clinician_appointment_types
    query = (
        select(link.c.clinician_id)
        .join(t.clinicians, t.clinicians.c.id == link.c.clinician_id)
        .where(link.c.appointment_type_id == type_id, t.clinicians.c.active.is_(True))
    )
    if clinician_id is not None:
        query = query.where(link.c.clinician_id == clinician_id)
    return list(session.execute(query).scalars())


def _weekly_hours(session: Session, clinician_ids: list[str], location_id: str | None) -> dict[tuple, list[WeeklyHours]]:
    w = t.working_hours
    query = (
        select(w.c.clinician_id, w.c.location_id, t.locations.c.timezone, w.c.weekday, w.c.start_time, w.c.end_time,
               w.c.effective_from, w.c.effective_until)
        .join(t.locations, t.locations.c.id == w.c.location_id)
        .where(w.c.clinician_id.in_(clinician_ids))
    )
    if location_id is not None:
        query = query.where(w.c.location_id == location_id)
    grouped: dict[tuple, list[WeeklyHours]] = defaultdict(list)
    for row in session.execute(query):
        grouped[(row.clinician_id, row.location_id, row.timezone)].append(
            WeeklyHours(row.weekday, row.start_time, row.end_time, row.effective_from, row.effective_until)
        )
    return grouped


def _overrides(session: Session, clinician_ids: list[str], first: date, last: date) -> dict[tuple, dict[date, tuple]]:
    o = t.schedule_overrides
    query = select(o.c.clinician_id, o.c.location_id, o.c.date, o.c.start_time, o.c.end_time).where(
        o.c.clinician_id.in_(clinician_ids), o.c.date >= first, o.c.date <= last
    )
    days: dict[tuple, dict[date, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for row in session.execute(query):
        intervals = days[(row.clinician_id, row.location_id)][row.date]
        if row.start_time is not None and row.end_time is not None:
            intervals.append((row.start_time, row.end_time))
    # A day with only "closed" rows maps to an empty tuple: closed.
    return {key: {day: tuple(sorted(spans)) for day, spans in per_day.items()} for key, per_day in days.items()}


def _ranges_by_clinician(session, table, clinician_ids, start, end, condition) -> dict[str, list[TimeRange]]:
    begin, finish = (table.c.blocked_start, table.c.blocked_end) if table is t.bookings else (table.c.start, table.c.end)
    query = select(table.c.clinician_id, _instant(begin, session), _instant(finish, session)).where(
        table.c.clinician_id.in_(clinician_ids), begin < end, finish > start
    )
    if condition is not None:
        query = query.where(condition)
    ranges: dict[str, list[TimeRange]] = defaultdict(list)
    for clinician, range_start, range_end in session.execute(query):
        ranges[clinician].append(_stored_range(range_start, range_end))
    return ranges


def _rooms(session: Session, kind: AppointmentType, location_ids: Iterable[str], start, end, now) -> list[Room]:
    rooms = session.execute(
        select(t.rooms.c.id, t.rooms.c.location_id, t.rooms.c.kind).where(
            t.rooms.c.kind == kind.room_kind, t.rooms.c.active.is_(True), t.rooms.c.location_id.in_(list(location_ids))
        )
    ).all()
    if not rooms:
        return []
    b = t.bookings
    busy_rows = session.execute(
        select(b.c.room_id, _instant(b.c.blocked_start, session), _instant(b.c.blocked_end, session)).where(
            b.c.room_id.in_([room.id for room in rooms]), b.c.blocked_start < end, b.c.blocked_end > start,
            occupying(b, now),
        )
    )
    busy: dict[str, list[TimeRange]] = defaultdict(list)
    for room_id, range_start, range_end in busy_rows:
        busy[room_id].append(_stored_range(range_start, range_end))
    return [Room(room.id, room.location_id, room.kind, tuple(busy.get(room.id, ()))) for room in rooms]

