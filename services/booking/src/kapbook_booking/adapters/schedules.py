"""Loads clinicians' schedules for the availability engine and the staff calendar, in a fixed
handful of queries whatever the number of clinicians and bookings (no N+1).

`load_schedules` reads everything one appointment type's search needs; `load_working_hours`
reads one clinician's hours at each of their locations; `load_clinic_hours` every active
clinician's hours and time off (the director's report). All turn rows into the engine's
`WeeklyHours` and date overrides the same way, closed days included.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from functools import cache, partial
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, bindparam, func, or_, select, type_coerce, union_all
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables
from kapbook_booking.domain.availability import ClinicianSchedule, Room, WeeklyHours
from kapbook_booking.domain.availability.wall_clock import LocalHours
from kapbook_booking.domain.intervals import TimeRange, as_utc
from kapbook_booking.domain.model import AppointmentType

ACTIVE_BOOKED = ("booked", "arrived")
# The longest time one booking can block: the catalogue allows an appointment of at most a day with at
# most a day of buffer on each side (three days); a week leaves room. Busy reads rely on it.
LONGEST_BLOCK = timedelta(days=7)


class _StoredRanges:
    """Turns stored (start, end) pairs, read as UTC text, into TimeRanges, each distinct pair once
    per request.

    A large clinic's month is thousands of busy ranges that mostly repeat a few hundred
    instants (clinicians share one slot grid), so parsing and building each distinct value once
    is most of the cost of reading them. Text keys are also much cheaper to look up than the
    driver's aware datetimes, whose every hash asks their time zone for its offset.
    """

    def __init__(self) -> None:
        self._instants: dict[str, datetime] = {}
        self._ranges: dict[tuple[str, str], TimeRange] = {}

    def group(self, rows: Iterable[tuple]) -> dict[str, list[TimeRange]]:
        """(key, start, end) rows as the key's ranges, in row order."""
        grouped: dict[str, list[TimeRange]] = defaultdict(list)
        ranges, make = self._ranges, self._range
        for key, start, end in rows:
            found = ranges.get((start, end))
            grouped[key].append(found if found is not None else make(start, end))
        return grouped

    def _range(self, start: str, end: str) -> TimeRange:
        # CHECK constraints already guarantee start < end: skip re-validating every range.
        stored = object.__new__(TimeRange)
        object.__setattr__(stored, "start", self._instant(start))
        object.__setattr__(stored, "end", self._instant(end))
        self._ranges[(start, end)] = stored
        return stored

    def _instant(self, text: str) -> datetime:
        instant = self._instants.get(text)
        if instant is None:
            instant = datetime.fromisoformat(text)
            instant = instant.replace(tzinfo=timezone.utc) if instant.tzinfo is None else as_utc(instant)
            self._instants[text] = instant
        return instant


class _LocalValues:
    """Reads wall-clock times and dates without SQLAlchemy's per-row processing: SQLite keeps
    them as ISO text (parsed here, each distinct value once); PostgreSQL's driver returns them ready."""

    def __init__(self, session: Session) -> None:
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._parsed: dict = {}

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


def occupying(table, now):
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
    queries = _queries(session.get_bind().dialect.name)
    clinician_ids = _clinicians_for(session, queries, kind.id, clinician_id)
    if not clinician_ids:
        return [], []
    # Anything that overlaps a candidate's blocked range matters, so widen the window by the type's extent.
    reach = {
        "reach_start": window_start - kind.buffer_before - kind.duration - kind.buffer_after,
        "reach_end": window_end + kind.duration + kind.buffer_after + kind.buffer_before,
    }
    hours = _weekly_hours(session, queries, clinician_ids, location_id)
    first_day, last_day = reach["reach_start"].date() - timedelta(days=1), reach["reach_end"].date() + timedelta(days=1)
    overrides = _overrides(session, queries, clinician_ids, first_day, last_day)
    stored = _StoredRanges()
    time_off = stored.group(session.execute(queries.time_off, {"ids": clinician_ids, **reach}).all())
    locations = sorted({location for _clinician, location, _zone in hours})
    rooms = _rooms(session, queries, kind, locations) if kind.room_kind else []
    busy, room_busy = _busy(session, queries, stored, clinician_ids, [room.id for room in rooms], reach, now)
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
    return schedules, [Room(room.id, room.location_id, room.kind, tuple(room_busy.get(room.id, ()))) for room in rooms]


def load_working_hours(session: Session, clinician_id: str, first_day: date, last_day: date) -> list[tuple[ClinicianSchedule, str]]:
    """The clinician's schedule (hours only: no busy time) at each location where they have weekly
    hours or an override dated [first_day, last_day], with the location's name, by location id."""
    queries = _queries(session.get_bind().dialect.name)
    rows = session.execute(queries.hours_by_place, {"clinician_id": clinician_id})
    weekly = _group_weekly(rows, _LocalValues(session))
    params = {"clinician_id": clinician_id, "first_day": first_day, "last_day": last_day}
    overrides = _group_overrides(session.execute(queries.overrides_by_place, params))
    schedules = []
    for place in sorted(weekly.keys() | overrides.keys()):
        location, name, zone = place
        hours = tuple(weekly.get(place, ()))
        schedules.append((ClinicianSchedule(clinician_id, location, ZoneInfo(zone), hours, overrides.get(place, {})), name))
    return schedules


def load_clinic_hours(session: Session, start: datetime, end: datetime) -> list[ClinicianSchedule]:
    """Every active clinician's schedule at each location where they have weekly hours, with the
    date overrides and time off (not the busy times of their own calendars) that touch [start, end)."""
    queries = _queries(session.get_bind().dialect.name)
    clinician_ids = list(session.execute(queries.active_clinicians).scalars())
    if not clinician_ids:
        return []
    hours = _weekly_hours(session, queries, clinician_ids, None)
    overrides = _overrides(session, queries, clinician_ids, start.date() - timedelta(days=2), end.date() + timedelta(days=2))
    reach = {"ids": clinician_ids, "reach_start": start, "reach_end": end}
    time_off = _StoredRanges().group(session.execute(queries.time_off_only, reach).all())
    return [
        ClinicianSchedule(clinician, location, ZoneInfo(zone), tuple(weekly), overrides.get((clinician, location), {}),
                          time_off=tuple(time_off.get(clinician, ())))
        for (clinician, location, zone), weekly in sorted(hours.items())
    ]


class _Queries:
    """The loader's statements, built once per dialect with bound parameters (id lists expand when
    executed): built per request, with fifty clinician ids in each, they cost more to prepare than
    the smaller ones take to run."""

    def __init__(self, sqlite: bool) -> None:
        link, w, o, off, b = tables.clinician_appointment_types, tables.working_hours, tables.schedule_overrides, tables.time_off, tables.bookings
        ids = bindparam("ids", expanding=True)
        self.clinicians = (
            select(link.c.clinician_id)
            .join(tables.clinicians, tables.clinicians.c.id == link.c.clinician_id)
            .where(link.c.appointment_type_id == bindparam("type_id"), tables.clinicians.c.active.is_(True))
        )
        self.one_clinician = self.clinicians.where(link.c.clinician_id == bindparam("clinician_id"))
        self.active_clinicians = select(tables.clinicians.c.id).where(tables.clinicians.c.active.is_(True))
        local = partial(_raw_local, sqlite=sqlite)
        self.weekly_hours = (
            select(w.c.clinician_id, w.c.location_id, tables.locations.c.timezone, w.c.weekday, local(w.c.start_time),
                   local(w.c.end_time), local(w.c.effective_from), local(w.c.effective_until))
            .join(tables.locations, tables.locations.c.id == w.c.location_id)
            .where(w.c.clinician_id.in_(ids))
        )
        self.weekly_hours_at = self.weekly_hours.where(w.c.location_id == bindparam("location_id"))
        in_days = (o.c.date >= bindparam("first_day"), o.c.date <= bindparam("last_day"))
        self.overrides = select(o.c.clinician_id, o.c.location_id, o.c.date, o.c.start_time, o.c.end_time).where(
            o.c.clinician_id.in_(ids), *in_days
        )
        # The staff calendar's: one clinician's, keyed by location, its name and zone.
        place = (tables.locations.c.id.label("location_id"), tables.locations.c.name, tables.locations.c.timezone)
        self.hours_by_place = (
            select(*place, w.c.weekday, local(w.c.start_time), local(w.c.end_time), local(w.c.effective_from),
                   local(w.c.effective_until))
            .join(w, w.c.location_id == tables.locations.c.id)
            .where(w.c.clinician_id == bindparam("clinician_id"))
        )
        self.overrides_by_place = (
            select(*place, o.c.date, o.c.start_time, o.c.end_time)
            .join(o, o.c.location_id == tables.locations.c.id)
            .where(o.c.clinician_id == bindparam("clinician_id"), *in_days)
        )
        instant = partial(_raw_instant, sqlite=sqlite)
        # Busy times synced from clinicians' own calendars block them exactly as time off does.
        ext = tables.calendar_busy
        self.time_off = union_all(
            select(off.c.clinician_id, instant(off.c.start), instant(off.c.end)).where(
                off.c.clinician_id.in_(ids), off.c.start < bindparam("reach_end"), off.c.end > bindparam("reach_start")
            ),
            select(ext.c.clinician_id, instant(ext.c.start), instant(ext.c.end)).where(
                ext.c.clinician_id.in_(ids), ext.c.start < bindparam("reach_end"), ext.c.end > bindparam("reach_start")
            ),
        )
        self.time_off_only = select(off.c.clinician_id, instant(off.c.start), instant(off.c.end)).where(
            off.c.clinician_id.in_(ids), off.c.start < bindparam("reach_end"), off.c.end > bindparam("reach_start")
        )
        # The lower bound on blocked_start changes no answer (no booking blocks longer than LONGEST_BLOCK)
        # but turns the index search into the window's few rows instead of all of history before it.
        in_reach = (b.c.blocked_start < bindparam("reach_end"), b.c.blocked_end > bindparam("reach_start"),
                    b.c.blocked_start > bindparam("busy_from"), occupying(b, bindparam("now")))
        self.busy = select(b.c.clinician_id, instant(b.c.blocked_start), instant(b.c.blocked_end)).where(
            b.c.clinician_id.in_(ids), *in_reach
        )
        # A separate statement: one OR over both indexes was slower on SQLite than two searches.
        self.room_busy = select(b.c.room_id, instant(b.c.blocked_start), instant(b.c.blocked_end)).where(
            b.c.room_id.in_(bindparam("room_ids", expanding=True)), *in_reach
        )
        self.rooms = select(tables.rooms.c.id, tables.rooms.c.location_id, tables.rooms.c.kind).where(
            tables.rooms.c.kind == bindparam("room_kind"), tables.rooms.c.active.is_(True),
            tables.rooms.c.location_id.in_(bindparam("location_ids", expanding=True)),
        )


@cache
def _queries(dialect_name: str) -> _Queries:
    return _Queries(sqlite=dialect_name == "sqlite")


def _raw_instant(column, sqlite: bool):
    """The column as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff', without SQLAlchemy's per-row processing:
    SQLite stores exactly that; PostgreSQL writes it with to_char (whatever the session's DateStyle
    and TimeZone). _StoredRanges parses it."""
    if sqlite:
        return type_coerce(column, String).label(column.name)
    utc_text = func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    return type_coerce(utc_text, String).label(column.name)


def _raw_local(column, sqlite: bool):
    """A time or date column as SQLite's ISO text (see _LocalValues); PostgreSQL's driver returns it ready."""
    return type_coerce(column, String).label(column.name) if sqlite else column


def _clinicians_for(session: Session, queries: _Queries, type_id: str, clinician_id: str | None) -> list[str]:
    if clinician_id is None:
        return list(session.execute(queries.clinicians, {"type_id": type_id}).scalars())
    return list(session.execute(queries.one_clinician, {"type_id": type_id, "clinician_id": clinician_id}).scalars())


def _weekly_hours(session: Session, queries: _Queries, clinician_ids: list[str], location_id: str | None) -> dict[tuple, list[WeeklyHours]]:
    if location_id is None:
        rows = session.execute(queries.weekly_hours, {"ids": clinician_ids}).all()
    else:
        rows = session.execute(queries.weekly_hours_at, {"ids": clinician_ids, "location_id": location_id}).all()
    return _group_weekly(rows, _LocalValues(session))


def _group_weekly(rows: Iterable[tuple], local: _LocalValues) -> dict[tuple, list[WeeklyHours]]:
    """Rows of (*key, weekday, start, end, effective_from, effective_until) as each key's WeeklyHours."""
    grouped: dict[tuple, list[WeeklyHours]] = defaultdict(list)
    # Clinicians mostly share their hours: build each distinct WeeklyHours (frozen) once.
    made: dict[tuple, WeeklyHours] = {}
    for *key, weekday, start, end, effective_from, effective_until in rows:
        hours = (weekday, start, end, effective_from, effective_until)
        weekly = made.get(hours)
        if weekly is None:
            weekly = made[hours] = WeeklyHours(
                weekday, local.time(start), local.time(end), local.date(effective_from), local.date(effective_until)
            )
        grouped[tuple(key)].append(weekly)
    return grouped


def _overrides(session: Session, queries: _Queries, clinician_ids: list[str], first: date, last: date) -> dict[tuple, dict[date, LocalHours]]:
    params = {"ids": clinician_ids, "first_day": first, "last_day": last}
    return _group_overrides(session.execute(queries.overrides, params))


def _group_overrides(rows: Iterable[tuple]) -> dict[tuple, dict[date, LocalHours]]:
    """Rows of (*key, date, start_time, end_time) as each key's hours per date. A row without times
    closes its date, so a date with only such rows maps to an empty tuple: closed."""
    days: dict[tuple, dict[date, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for *key, day, start, end in rows:
        intervals = days[tuple(key)][day]
        if start is not None and end is not None:
            intervals.append((start, end))
    return {key: {day: tuple(sorted(spans)) for day, spans in per_day.items()} for key, per_day in days.items()}


def _rooms(session: Session, queries: _Queries, kind: AppointmentType, location_ids: list[str]) -> list:
    return session.execute(queries.rooms, {"room_kind": kind.room_kind, "location_ids": location_ids}).all()


def _busy(session, queries: _Queries, stored: _StoredRanges, clinician_ids: list[str], room_ids: list[str], reach: dict,
          now: datetime) -> tuple[dict[str, list[TimeRange]], dict[str, list[TimeRange]]]:
    """Occupied ranges per clinician (of ``clinician_ids``) and per room (of ``room_ids``)."""
    bounds = {"now": now, "busy_from": reach["reach_start"] - LONGEST_BLOCK, **reach}
    by_clinician = stored.group(session.execute(queries.busy, {"ids": clinician_ids, **bounds}).all())
    if not room_ids:
        return by_clinician, {}
    rows = session.execute(queries.room_busy, {"room_ids": room_ids, **bounds}).all()
    return by_clinician, stored.group(rows)
