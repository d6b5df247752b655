"""The slot grid: candidate starts per working span, and the room each would take.

Slot starts step by `slot_step` of elapsed time from the start of the (merged) working
interval; notice, horizon and window only filter that grid. A slot occupies its blocked range
[start - buffer_before, end + buffer_after), which must not overlap the clinician's busy ranges
or time off, nor (when a room kind is required) every room of that kind at the location.
Among free rooms the lowest `room_id` is taken, which packs bookings onto the first chairs and
leaves later ones free for longer sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import compress, repeat
from typing import NamedTuple

from kapbook_booking.domain.availability.hours import ClinicianSchedule, working_spans
from kapbook_booking.domain.availability.wall_clock import WallClock
from kapbook_booking.domain.intervals import ForbiddenStarts, Span, TimeRange, as_utc

_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)


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


@dataclass(frozen=True)
class StartBounds:
    """Inclusive earliest and latest allowed slot start."""

    earliest: datetime
    latest: datetime


def start_bounds(
    rules: AppointmentRules, now: datetime, window_start: datetime, window_end: datetime
) -> StartBounds | None:
    """The allowed starts: inside the window, after the notice, before the horizon."""
    now, window_start, window_end = (as_utc(t) for t in (now, window_start, window_end))
    earliest = max(window_start, now + rules.min_notice)
    # Datetimes resolve to microseconds, so "< window_end" is "<= window_end - 1us".
    latest = min(window_end - _MICROSECOND, now + rules.horizon)
    return StartBounds(earliest, latest) if earliest <= latest else None


def forbidden_starts(
    blocks: Iterable[TimeRange], rules: AppointmentRules, bounds: StartBounds
) -> ForbiddenStarts:
    """The starts whose blocked range would overlap one of `blocks`."""
    lead = rules.buffer_before
    tail = rules.duration + rules.buffer_after
    return ForbiddenStarts.from_blocks(blocks, lead, tail, (bounds.earliest, bounds.latest))


class RoomChooser:
    """Rooms of the wanted kind per location, lowest id first, indexed on first use."""

    def __init__(self, rooms: Iterable[Room], rules: AppointmentRules, bounds: StartBounds) -> None:
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
                (room.room_id, forbidden_starts(room.busy, self._rules, self._bounds)) for room in rooms
            ]
        return indexed


def _first_free_room(rooms: list[tuple[str, ForbiddenStarts]], start: datetime) -> str | None:
    for room_id, forbidden in rooms:
        if forbidden.allows(start):
            return room_id
    return None


# Slots are built from (start, end, clinician, location, room) rows in C; a
# Python-level constructor call per slot would dominate the request time.
_new_slot = partial(tuple.__new__, Slot)


@dataclass(frozen=True)
class Grid:
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
    bounds: StartBounds,
    rooms: list[tuple[str, ForbiddenStarts]] | None,
) -> Grid | None:
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
        return Grid(starts, ends, None, None)
    room_ids = [_first_free_room(rooms, start) for start in starts]
    return Grid(starts, ends, room_ids, [room_id is not None for room_id in room_ids])


class GridBook:
    """Per-request memo of candidate grids.

    Clinicians with equal hours in one zone (at one location, when rooms
    matter) share one list of grids, so the usual clinic converts wall clocks
    and builds candidate starts once per request rather than per clinician.
    """

    def __init__(self, rules: AppointmentRules, bounds: StartBounds, rooms: RoomChooser | None) -> None:
        self._rules, self._bounds, self._rooms = rules, bounds, rooms
        self._clock = WallClock()
        self._by_span: dict[tuple[str | None, Span], Grid | None] = {}
        self._by_schedule: dict[tuple[object, ...], list[Grid]] = {}

    def grids_for(self, clinician: ClinicianSchedule) -> list[Grid]:
        """The clinician's grids in time order."""
        room_key = None if self._rooms is None else clinician.location_id
        overrides = tuple(clinician.date_overrides.items())
        key = (clinician.zone, clinician.weekly_hours, overrides, room_key)
        grids = self._by_schedule.get(key)
        if grids is None:
            grids = self._by_schedule[key] = self._build(clinician, room_key)
        return grids

    def _build(self, clinician: ClinicianSchedule, room_key: str | None) -> list[Grid]:
        reach = self._bounds.latest + self._rules.duration
        spans = working_spans(clinician, self._bounds.earliest, reach, self._clock)
        grids = [self._grid(room_key, span) for span in spans]
        return [grid for grid in grids if grid is not None]

    def _grid(self, room_key: str | None, span: Span) -> Grid | None:
        key = (room_key, span)
        if key not in self._by_span:
            rooms = None if room_key is None or self._rooms is None else self._rooms.at(room_key)
            self._by_span[key] = _build_grid(span, self._rules, self._bounds, rooms)
        return self._by_span[key]
