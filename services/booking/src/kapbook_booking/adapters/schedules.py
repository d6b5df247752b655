"""Loads everything the availability engine needs for one appointment type, in a fixed handful
of queries whatever the number of clinicians and bookings (no N+1)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, String, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables as t
from kapbook_booking.domain.availability import ClinicianSchedule, Room, TimeRange, WeeklyHours
from kapbook_booking.domain.intervals import as_utc
from kapbook_booking.domain.model import AppointmentType

ACTIVE_BOOKED = ("booked", "arrived")
# timestamptz exactly as the driver returns it (an aware datetime), with no result processor.
_DRIVER_TIMESTAMPTZ = DateTime(timezone=True)


class _StoredRanges:
    """Turns stored (start, end) pairs into TimeRanges, each distinct pair once per request.

    A large clinic's month is thousands of busy ranges that mostly repeat a few hundred
    instants (clinicians share one slot grid), so parsing and building each distinct value once
    is most of the cost of reading them. SQLite keeps UTC as text without an offset and is read
    as that text; PostgreSQL's timestamptz comes back as driver datetimes, moved to UTC here.
    """

    def __init__(self, session: Session) -> None:
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._instants: dict = {}
        self._ranges: dict[tuple, TimeRange] = {}

    def column(self, column):
        """The column as the raw value the driver returns, without SQLAlchemy's per-row processing."""
        return type_coerce(column, String if self._sqlite else _DRIVER_TIMESTAMPTZ)

    def group(self, rows: Iterable[tuple]) -> dict[str, list[TimeRange]]:
        """(key, start, end) rows as the key's ranges, in row order."""
        grouped: dict[str, list[TimeRange]] = defaultdict(list)
        ranges, make = self._ranges, self._range
        for key, start, end in rows:
            found = ranges.get((start, end))
            grouped[key].append(found if found is not None else make(start, end))
        return grouped

    def _range(self, start, end) -> TimeRange:
        # CHECK constraints already guarantee start < end: skip re-validating every range.
        stored = object.__new__(TimeRange)
        object.__setattr__(stored, "start", self._instant(start))
        object.__setattr__(stored, "end", self._instant(end))
        self._ranges[(start, end)] = stored
        return stored

    def _instant(self, value) -> datetime:
        instant = self._instants.get(value)
        if instant is None:
            if self._sqlite:
                instant = datetime.fromisoformat(value)
                instant = instant.replace(tzinfo=timezone.utc) if instant.tzinfo is None else as_utc(instant)
            else:
                instant = as_utc(value)
            self._instants[value] = instant
        return instant


class _LocalValues:
    """Reads wall-clock times and dates without SQLAlchemy's per-row processing: SQLite keeps
    them as ISO text (parsed here, each distinct value once); PostgreSQL's driver returns them ready."""

    def __init__(self, session: Session) -> None:
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._parsed: dict = {}

    def column(self, column):
        return type_coerce(column, String) if self._sqlite else column

    def time(self, value) -> time:
        return self._parse(value, time.fromisoformat)

    def date(self, value) -> date | None:
        return None if value is None else self._parse(value, date.fromisoformat)

    def _parse(self, value, parse):
        if not self._sqlite:
            return value
        parsed = self._parsed.get(value)
        if parsed is None:
            parsed = self._parsed[value] = parse(value)
        return parsed


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
    stored = _StoredRanges(session)
    time_off = _ranges_by_clinician(session, stored, t.time_off, clinician_ids, reach_start, reach_end, None)
    busy = _ranges_by_clinician(session, stored, t.bookings, clinician_ids, reach_start, reach_end, occupying(t.bookings, now))
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
    locations = {schedule.location_id for schedule in schedules}
    rooms = _rooms(session, stored, kind, locations, reach_start, reach_end, now) if kind.room_kind else []
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
    local = _LocalValues(session)
    query = (
        select(w.c.clinician_id, w.c.location_id, t.locations.c.timezone, w.c.weekday, local.column(w.c.start_time),
               local.column(w.c.end_time), local.column(w.c.effective_from), local.column(w.c.effective_until))
        .join(t.locations, t.locations.c.id == w.c.location_id)
        .where(w.c.clinician_id.in_(clinician_ids))
    )
    if location_id is not None:
        query = query.where(w.c.location_id == location_id)
    grouped: dict[tuple, list[WeeklyHours]] = defaultdict(list)
    # Clinicians mostly share their hours: build each distinct WeeklyHours (frozen) once.
    made: dict[tuple, WeeklyHours] = {}
    for clinician, location, zone, *hours in session.execute(query).all():
        key = tuple(hours)
        weekly = made.get(key)
        if weekly is None:
            weekday, start, end, effective_from, effective_until = hours
            weekly = made[key] = WeeklyHours(
                weekday, local.time(start), local.time(end), local.date(effective_from), local.date(effective_until)
            )
        grouped[(clinician, location, zone)].append(weekly)
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


def _ranges_by_clinician(session, stored: _StoredRanges, table, clinician_ids, start, end, condition) -> dict[str, list[TimeRange]]:
    begin, finish = (table.c.blocked_start, table.c.blocked_end) if table is t.bookings else (table.c.start, table.c.end)
    query = select(table.c.clinician_id, stored.column(begin), stored.column(finish)).where(
        table.c.clinician_id.in_(clinician_ids), begin < end, finish > start
    )
    if condition is not None:
        query = query.where(condition)
    return stored.group(session.execute(query).all())


def _rooms(session: Session, stored: _StoredRanges, kind: AppointmentType, location_ids: Iterable[str], start, end, now) -> list[Room]:
    rooms = session.execute(
        select(t.rooms.c.id, t.rooms.c.location_id, t.rooms.c.kind).where(
            t.rooms.c.kind == kind.room_kind, t.rooms.c.active.is_(True), t.rooms.c.location_id.in_(list(location_ids))
        )
    ).all()
    if not rooms:
        return []
    b = t.bookings
    busy = stored.group(session.execute(
        select(b.c.room_id, stored.column(b.c.blocked_start), stored.column(b.c.blocked_end)).where(
            b.c.room_id.in_([room.id for room in rooms]), b.c.blocked_start < end, b.c.blocked_end > start,
            occupying(b, now),
        )
    ).all())
    return [Room(room.id, room.location_id, room.kind, tuple(busy.get(room.id, ()))) for room in rooms]
