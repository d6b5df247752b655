"""Availability engine: free slots for one appointment type across many clinicians.

Pure domain code. All instants are aware datetimes; results are in UTC.

Semantics worth knowing:

* Working hours are wall-clock times in the location's zone, converted day by day.
  Local hours [start, end) run from the first instant the clock reads `start`
  or later to the instant after which it never again reads earlier than `end`.
  So a start inside a spring-forward gap begins when the gap ends (02:00 or
  02:30 in New York on that day means 03:00 EDT), an end inside it ends there,
  and on fall-back days the repeated hour is working time (01:00-01:30 is
  01:00 EDT to 01:30 EST).
* A day's working intervals are merged when they overlap or touch, after the
  conversion to UTC; a slot must fit inside one merged interval.
* Slot starts step by `slot_step` of elapsed time from the start of the
  (merged) working interval; notice, horizon and window only filter that grid.
* A slot occupies its blocked range [start - buffer_before, end + buffer_after),
  which must not overlap the clinician's busy ranges or time off, nor (when a
  room kind is required) every room of that kind at the location. Among free
  rooms the lowest `room_id` is taken, which packs bookings onto the first
  chairs and leaves later ones free for longer sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from kapbook_booking.domain.intervals import (
    UTC,
    ForbiddenStarts,
    Span,
    TimeRange,
    as_utc,
    merge_spans,
)

__all__ = [
    "AppointmentRules",
    "ClinicianSchedule",
    "Room",
    "Slot",
    "TimeRange",
    "WeeklyHours",
    "find_slots",
    "local_to_utc",
    "slot_at",
    "working_intervals_between",
    "working_intervals_on",
]

_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)

LocalHours = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class AppointmentRules:
    """How one appointment type books: length, buffers, booking window, grid, room."""

    duration: timedelta
    buffer_before: timedelta = _ZERO
    buffer_after: timedelta = _ZERO
    min_notice: timedelta = _ZERO
    horizon: timedelta = timedelta(days=90)
    slot_step: timedelta = timedelta(minutes=15)
    room_kind: str | None = None

    def __post_init__(self) -> None:
        if self.duration <= _ZERO or self.slot_step <= _ZERO:
            raise ValueError("duration and slot_step must be positive")
        if min(self.buffer_before, self.buffer_after, self.min_notice, self.horizon) < _ZERO:
            raise ValueError("buffers, min_notice and horizon must not be negative")


@dataclass(frozen=True)
class WeeklyHours:
    """A recurring local working interval; weekday 0 is Monday, dates are inclusive."""

    weekday: int
    start: time
    end: time
    effective_from: date | None = None
    effective_until: date | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) .. 6 (Sunday)")
        _check_local_hours(self.start, self.end)

    def applies_on(self, day: date) -> bool:
        """True when this interval is in effect on the local date `day`."""
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_until is None or day <= self.effective_until


@dataclass(frozen=True)
class ClinicianSchedule:
    """One clinician at one location, with everything that shapes their free time.

    `date_overrides` maps a local date to the (start, end) local times that
    replace that day's weekly hours; an empty tuple closes the day. `busy`
    holds bookings and unexpired holds already widened by their own buffers.
    """

    clinician_id: str
    location_id: str
    zone: ZoneInfo
    weekly_hours: tuple[WeeklyHours, ...] = ()
    date_overrides: Mapping[date, LocalHours] = field(default_factory=dict)
    time_off: tuple[TimeRange, ...] = ()
    busy: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        overrides = {
            day: tuple((start, end) for start, end in hours)
            for day, hours in self.date_overrides.items()
        }
        for hours in overrides.values():
            for start, end in hours:
                _check_local_hours(start, end)
        # Normalised so equal schedules compare and hash equal (see _GridBook).
        object.__setattr__(self, "date_overrides", overrides)
        for name in ("weekly_hours", "time_off", "busy"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class Room:
    """A room or chair; `busy` holds its blocked ranges (bookings widened by buffers)."""

    room_id: str
    location_id: str
    kind: str
    busy: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "busy", tuple(self.busy))


class Slot(NamedTuple):
    """A bookable start and the room it would take (None when no room is needed).

    A NamedTuple rather than a frozen dataclass: a request builds tens of
    thousands of these, and tuples are several times cheaper to build.
    """

    start_utc: datetime
    end_utc: datetime
    clinician_id: str
    location_id: str
    room_id: str | None


def _check_local_hours(start: time, end: time) -> None:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("working hours are naive local wall-clock times")
    if end <= start:
        raise ValueError(f"working hours must end after they start, same day: {start}-{end}")


# --- wall clock -> UTC -------------------------------------------------------


def local_to_utc(zone: ZoneInfo, day: date, wall: time, *, ends_interval: bool = False) -> datetime:
    """Convert a local wall time on `day` to UTC, resolving gaps and repeats.

    A start is the first instant the clock reads `wall` or later; an end
    (`ends_interval=True`) is the instant after which the clock never again
    reads earlier than `wall`. Inside a spring-forward gap both are the instant
    the gap ends. A repeated fall-back time starts at its first occurrence and
    ends at its second, except at the very start of the repeated hour, where
    the clock never reads earlier again after the first.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    if first > second:  # a gap: fold=0 applies the pre-transition offset, landing past it
        return _offset_change_between(zone, second, first)
    if not ends_interval:
        return first
    reading_before_second = (second - _MICROSECOND).astimezone(zone).replace(tzinfo=None)
    return second if reading_before_second < naive else first


def _offset_change_between(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first instant in (before, after] that carries `after`'s UTC offset."""
    target = after.astimezone(zone).utcoffset()
    while after - before > _MICROSECOND:
        middle = before + (after - before) // 2
        if middle.astimezone(zone).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after


class _WallClock:
    """Per-request memo of wall-clock conversions; clinicians in one zone share them."""

    def __init__(self) -> None:
        self._days: dict[tuple[ZoneInfo, date, LocalHours], list[Span]] = {}
        self._instants: dict[tuple[ZoneInfo, date, time, bool], datetime] = {}

    def day_spans(self, zone: ZoneInfo, day: date, hours: LocalHours) -> list[Span]:
        key = (zone, day, hours)
        spans = self._days.get(key)
        if spans is None:
            spans = self._days[key] = _convert_day(zone, day, hours, self.to_utc)
        return spans

    def to_utc(self, zone: ZoneInfo, day: date, wall: time, ends_interval: bool) -> datetime:
        key = (zone, day, wall, ends_interval)
        instant = self._instants.get(key)
        if instant is None:
            instant = local_to_utc(zone, day, wall, ends_interval=ends_interval)
            self._instants[key] = instant
        return instant


def _uncached_to_utc(zone: ZoneInfo, day: date, wall: time, ends_interval: bool) -> datetime:
    return local_to_utc(zone, day, wall, ends_interval=ends_interval)


def _convert_day(
    zone: ZoneInfo,
    day: date,
    hours: LocalHours,
    to_utc: Callable[[ZoneInfo, date, time, bool], datetime] = _uncached_to_utc,
) -> list[Span]:
    spans = []
    for start, end in hours:
        start_utc, end_utc = to_utc(zone, day, start, False), to_utc(zone, day, end, True)
        if start_utc < end_utc:  # an interval wholly inside a gap vanishes
            spans.append((start_utc, end_utc))
    return spans


# --- working intervals ---------------------------------------------------------


class _WeekPlan:
    """A clinician's local hours per date: overrides first, then weekly hours."""

    def __init__(self, clinician: ClinicianSchedule) -> None:
        self._overrides = clinician.date_overrides
        by_day: list[list[WeeklyHours]] = [[] for _ in range(7)]
        for hours in clinician.weekly_hours:
            by_day[hours.weekday].append(hours)
        self._by_weekday = by_day
        self._constant = [_constant_hours(day_hours) for day_hours in by_day]

    def hours_on(self, day: date) -> LocalHours:
        override = self._overrides.get(day)
        if override is not None:
            return override
        weekday = day.weekday()
        constant = self._constant[weekday]
        if constant is not None:
            return constant
        return tuple((h.start, h.end) for h in self._by_weekday[weekday] if h.applies_on(day))


def _constant_hours(day_hours: list[WeeklyHours]) -> LocalHours | None:
    """The day's hours when no effective dates apply, else None (decide per date)."""
    if any(h.effective_from is not None or h.effective_until is not None for h in day_hours):
        return None
    return tuple((h.start, h.end) for h in day_hours)


def _working_spans(
    clinician: ClinicianSchedule, first: datetime, last: datetime, clock: _WallClock
) -> list[Span]:
    """Merged UTC working spans overlapping [first, last], in order."""
    zone = clinician.zone
    plan = _WeekPlan(clinician)
    # A day's hours can spill past its UTC midnight either way; one spare day
    # each side also covers zones that fall back across local midnight.
    day = first.astimezone(zone).date() - _ONE_DAY
    final_day = last.astimezone(zone).date() + _ONE_DAY
    spans: list[Span] = []
    while day <= final_day:
        spans.extend(clock.day_spans(zone, day, plan.hours_on(day)))
        day += _ONE_DAY
    return [(s, e) for s, e in merge_spans(spans) if e > first and s <= last]


def working_intervals_on(clinician: ClinicianSchedule, day: date) -> list[TimeRange]:
    """UTC working intervals for the clinician's local date `day`, merged, in order."""
    plan = _WeekPlan(clinician)
    spans = _convert_day(clinician.zone, day, plan.hours_on(day))
    return [TimeRange(s, e) for s, e in merge_spans(spans)]


def working_intervals_between(
    clinician: ClinicianSchedule, start: datetime, end: datetime
) -> list[TimeRange]:
    """UTC working intervals overlapping [start, end), clipped to it (staff calendars)."""
    start, end = as_utc(start), as_utc(end)
    spans = _working_spans(clinician, start, end - _MICROSECOND, _WallClock())
    return [TimeRange(max(s, start), min(e, end)) for s, e in spans]


# --- slots ----------------------------------------------------------------------


@dataclass(frozen=True)
class _StartBounds:
    """Inclusive earliest and latest allowed slot start."""

    earliest: datetime
    latest: datetime


def _start_bounds(
    rules: AppointmentRules, now: datetime, window_start: datetime, window_end: datetime
) -> _StartBounds | None:
    now, window_start, window_end = (as_utc(t) for t in (now, window_start, window_end))
    earliest = max(window_start, now + rules.min_notice)
    # Datetimes resolve to microseconds, so "< window_end" is "<= window_end - 1us".
    latest = min(window_end - _MICROSECOND, now + rules.horizon)
    return _StartBounds(earliest, latest) if earliest <= latest else None


class _RoomChooser:
    """Rooms of the wanted kind per location, lowest id first, indexed on first use."""

    def __init__(
        self, rooms: Iterable[Room], rules: AppointmentRules, bounds: _StartBounds
    ) -> None:
        self._rules, self._bounds = rules, bounds
        self._rooms_by_location: dict[str, list[Room]] = {}
        for room in sorted(rooms, key=lambda r: r.room_id):
            if room.kind == rules.room_kind:
                self._rooms_by_location.setdefault(room.location_id, []).append(room)
        self._indexed: dict[str, list[tuple[str, ForbiddenStarts]]] = {}

    def has_rooms(self, location_id: str) -> bool:
        """True when the location has any room of the wanted kind."""
        return location_id in self._rooms_by_location

    def at(self, location_id: str) -> list[tuple[str, ForbiddenStarts]]:
        """(room_id, forbidden starts) for the location, lowest id first."""
        indexed = self._indexed.get(location_id)
        if indexed is None:
            rooms = self._rooms_by_location.get(location_id, [])
            indexed = self._indexed[location_id] = [
                (room.room_id, _forbidden(room.busy, self._rules, self._bounds)) for room in rooms
            ]
        return indexed


def _forbidden(
    blocks: Iterable[TimeRange], rules: AppointmentRules, bounds: _StartBounds
) -> ForbiddenStarts:
    lead = rules.buffer_before
    tail = rules.duration + rules.buffer_after
    return ForbiddenStarts.from_blocks(blocks, lead, tail, (bounds.earliest, bounds.latest))


def _first_free_room(rooms: list[tuple[str, ForbiddenStarts]], start: datetime) -> str | None:
    for room_id, forbidden in rooms:
        if forbidden.allows(start):
            return room_id
    return None


# Slots are built from (start, end, clinician, location, room) rows in C; a
# Python-level constructor call per slot would dominate the request time.
_new_slot = partial(tuple.__new__, Slot)


@dataclass(frozen=True)
class _Grid:
    """Candidate starts of one working span that fall inside the start bounds.

    Clinicians who share a span (and location, when rooms matter) share one
    grid per request, with ends and room picks precomputed; each clinician
    takes the index runs their busy ranges leave free.
    """

    starts: list[datetime]
    ends: list[datetime]
    room_ids: list[str | None] | None
    has_room: list[bool] | None

    def slots(self, low: int, high: int, clinician_id: str, location_id: str) -> Iterator[Slot]:
        """Slots for the candidates with index in [low, high) that have a room if one is needed."""
        starts, ends = self.starts[low:high], self.ends[low:high]
        who, where = repeat(clinician_id), repeat(location_id)
        if self.room_ids is None or self.has_room is None:
            return map(_new_slot, zip(starts, ends, who, where, repeat(None)))
        rows = zip(starts, ends, who, where, self.room_ids[low:high])
        return map(_new_slot, compress(rows, self.has_room[low:high]))


def _build_grid(
    work: Span,
    rules: AppointmentRules,
    bounds: _StartBounds,
    rooms: list[tuple[str, ForbiddenStarts]] | None,
) -> _Grid | None:
    origin, step = work[0], rules.slot_step
    first = max(origin, bounds.earliest)
    last = min(work[1] - rules.duration, bounds.latest)
    if first > last:
        return None
    first_step = -((origin - first) // step)  # ceil((first - origin) / step)
    starts = [origin + k * step for k in range(first_step, (last - origin) // step + 1)]
    if not starts:
        return None
    ends = [start + rules.duration for start in starts]
    if rooms is None:
        return _Grid(starts, ends, None, None)
    room_ids = [_first_free_room(rooms, start) for start in starts]
    return _Grid(starts, ends, room_ids, [room_id is not None for room_id in room_ids])


class _GridBook:
    """Per-request memo of candidate grids.

    Clinicians with equal hours in one zone (at one location, when rooms
    matter) share one list of grids, so the usual clinic converts wall clocks
    and builds candidate starts once per request rather than per clinician.
    """

    def __init__(
        self, rules: AppointmentRules, bounds: _StartBounds, rooms: _RoomChooser | None
    ) -> None:
        self._rules, self._bounds, self._rooms = rules, bounds, rooms
        self._clock = _WallClock()
        self._by_span: dict[tuple[str | None, Span], _Grid | None] = {}
        self._by_schedule: dict[tuple[object, ...], list[_Grid]] = {}

    def grids_for(self, clinician: ClinicianSchedule) -> list[_Grid]:
        """The clinician's grids in time order."""
        room_key = None if self._rooms is None else clinician.location_id
        overrides = tuple(clinician.date_overrides.items())
        key = (clinician.zone, clinician.weekly_hours, overrides, room_key)
        grids = self._by_schedule.get(key)
        if grids is None:
            grids = self._by_schedule[key] = self._build(clinician, room_key)
        return grids

    def _build(self, clinician: ClinicianSchedule, room_key: str | None) -> list[_Grid]:
        reach = self._bounds.latest + self._rules.duration
        spans = _working_spans(clinician, self._bounds.earliest, reach, self._clock)
        grids = [self._grid(room_key, span) for span in spans]
        return [grid for grid in grids if grid is not None]

    def _grid(self, room_key: str | None, span: Span) -> _Grid | None:
        key = (room_key, span)
        if key not in self._by_span:
            rooms = None if room_key is None or self._rooms is None else self._rooms.at(room_key)
            self._by_span[key] = _build_grid(span, self._rules, self._bounds, rooms)
        return self._by_span[key]


def _clinician_slots(
    clinician: ClinicianSchedule, rules: AppointmentRules, bounds: _StartBounds, grids: _GridBook
) -> list[Slot]:
    """The clinician's free slots in start order."""
    forbidden = _forbidden(chain(clinician.busy, clinician.time_off), rules, bounds)
    cid, lid = clinician.clinician_id, clinician.location_id
    slots: list[Slot] = []
    for grid in grids.grids_for(clinician):
        for low, high in forbidden.allowed_runs(grid.starts):
            slots.extend(grid.slots(low, high, cid, lid))
    return slots


def find_slots(
    rules: AppointmentRules,
    clinicians: Sequence[ClinicianSchedule],
    rooms: Sequence[Room],
    *,
    now: datetime,
    window_start: datetime,
    window_end: datetime,
) -> list[Slot]:
    """Free slots starting in [window_start, window_end), sorted by start then clinician_id."""
    bounds = _start_bounds(rules, now, window_start, window_end)
    if bounds is None:
        return []
    chooser = _RoomChooser(rooms, rules, bounds) if rules.room_kind is not None else None
    grids = _GridBook(rules, bounds, chooser)
    slots: list[Slot] = []
    for clinician in sorted(clinicians, key=lambda c: c.clinician_id):
        if chooser is None or chooser.has_rooms(clinician.location_id):
            slots.extend(_clinician_slots(clinician, rules, bounds, grids))
    slots.sort(key=itemgetter(0))  # stable: equal starts keep clinician order
    return slots


def slot_at(
    rules: AppointmentRules,
    clinician: ClinicianSchedule,
    rooms: Sequence[Room],
    *,
    now: datetime,
    start: datetime,
) -> Slot | None:
    """The slot at exactly `start` for this clinician if it is free, else None.

    Uses the same rules as `find_slots`, so a start it offered re-validates
    identically (room choice included) unless the inputs changed meanwhile.
    """
    just_after = as_utc(start) + _MICROSECOND
    found = find_slots(
        rules, [clinician], rooms, now=now, window_start=start, window_end=just_after
    )
    return found[0] if found else None
