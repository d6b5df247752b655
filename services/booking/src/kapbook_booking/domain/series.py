"""Treatment protocols and series: the rules a course of sessions keeps, and the planner that lays
one out on the availability engine.

Pure: aware datetimes and the engine's schedules in, plans and per-session reasons out. A series
keeps every session at the first session's wall-clock time in the clinic's zone (DST-exact, via
`wall_clock.local_to_utc`), counts sessions per calendar week (Monday to Sunday) in that zone,
and prefers one clinician and one chair for the whole course.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from itertools import chain
from zoneinfo import ZoneInfo

from kapbook_booking.domain.availability import AppointmentRules, ClinicianSchedule, Room
from kapbook_booking.domain.availability.grid import forbidden_starts, start_bounds
from kapbook_booking.domain.availability.hours import working_spans
from kapbook_booking.domain.availability.wall_clock import WallClock
from kapbook_booking.domain.availability.wall_clock import local_to_utc
from kapbook_booking.domain.errors import Conflict, Invalid, NotFound

_MICROSECOND = timedelta(microseconds=1)
CHANGE_KINDS = ("clinician", "room")


class UnknownProtocol(Invalid):
    code = "unknown_protocol"


class ProtocolRuleBroken(Invalid):
    """A plan (or a reschedule) breaks a protocol rule; the message quotes the rule."""

    code = "protocol_rule_broken"


class SeriesUnavailable(Conflict):
    """Some session of the plan cannot be had; ``errors["sessions"]`` holds a reason per position."""

    code = "series_unavailable"


class SeriesNotFound(NotFound):
    code = "not_found"


@dataclass(frozen=True)
class Protocol:
    """A course of sessions of one appointment type and the rules it keeps."""

    id: str
    code: str
    name: str
    appointment_type: str  # the type's code
    sessions: int
    min_gap: timedelta
    max_window_days: int
    max_per_week: int | None = None
    requires_preparation: bool = False
    integration_within_days: int | None = None

    def __post_init__(self) -> None:
        if self.sessions < 1 or self.max_window_days < 1 or self.min_gap < timedelta(0):
            raise ValueError("a protocol needs at least one session, a window of a day or more and no negative gap")
        if self.max_per_week is not None and self.max_per_week < 1:
            raise ValueError("max_per_week must be at least 1")

    # The rules in words: refusals quote them.
    def gap_rule(self) -> str:
        return f"Sessions of {self.name} need at least {_hours(self.min_gap)} hours between them."

    def window_rule(self) -> str:
        return f"All sessions of {self.name} must start within {self.max_window_days} days of the first."

    def week_rule(self) -> str:
        return f"{self.name} allows at most {self.max_per_week} sessions per calendar week."

    def count_rule(self) -> str:
        return f"{self.name} has {self.sessions} sessions."

    def preparation_rule(self) -> str:
        return f"{self.name} needs a preparation session booked before the first dosing session."


def _hours(gap: timedelta) -> str:
    return f"{gap.total_seconds() / 3600:g}"


def series_status(session_statuses: Iterable[str]) -> str:
    """``cancelled`` when every session is, ``partly_cancelled`` when some are, else ``booked``."""
    statuses = list(session_statuses)
    cancelled = statuses.count("cancelled")
    if statuses and cancelled == len(statuses):
        return "cancelled"
    return "partly_cancelled" if cancelled else "booked"


def week_of(instant: datetime, zone: ZoneInfo) -> date:
    """The Monday that starts the calendar week of ``instant`` in ``zone``."""
    local = instant.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def rule_breaks(
    protocol: Protocol, starts: Mapping[int, datetime], zone: ZoneInfo, *, check_count: bool = True,
    first_start: datetime | None = None,
) -> dict[int, list[str]]:
    """Each position's broken rules (quoted), for sessions ``{position: start}``; empty when the plan keeps them.

    ``first_start`` anchors the window when the first session is not among ``starts`` (a
    reschedule re-checks the live sessions against the series' first one).
    """
    breaks: dict[int, list[str]] = {}

    def add(position: int, reason: str) -> None:
        breaks.setdefault(position, [])
        if reason not in breaks[position]:
            breaks[position].append(reason)

    ordered = sorted(starts.items(), key=lambda item: (item[1], item[0]))
    if check_count and len(ordered) != protocol.sessions:
        for position, _ in ordered or [(1, None)]:
            add(position, f"{protocol.count_rule()} This plan has {len(ordered)}.")
    if not ordered:
        return breaks
    first = min(first_start, ordered[0][1]) if first_start is not None else ordered[0][1]
    first_day = first.astimezone(zone).date()
    for (_, previous), (position, start) in zip(ordered, ordered[1:]):
        if start - previous < protocol.min_gap:
            add(position, protocol.gap_rule())
    for position, start in ordered:
        if (start.astimezone(zone).date() - first_day).days >= protocol.max_window_days:
            add(position, protocol.window_rule())
    if protocol.max_per_week is not None:
        weeks = Counter(week_of(start, zone) for _, start in ordered)
        for position, start in ordered:
            if weeks[week_of(start, zone)] > protocol.max_per_week:
                add(position, protocol.week_rule())
    return breaks


def same_wall_clock_days(first_start: datetime, zone: ZoneInfo, days: int) -> list[datetime]:
    """The first start and the same local wall-clock time on each of the next ``days - 1`` days, in UTC.

    Across a DST change the UTC instant moves so the clock on the wall does not; a time that a
    spring-forward gap skips starts when the gap ends (as working hours do).
    """
    local = first_start.astimezone(zone)
    wall, day = local.time().replace(tzinfo=None), local.date()
    return [local_to_utc(zone, day + timedelta(days=offset), wall) for offset in range(days)]


@dataclass(frozen=True)
class Choice:
    """One session's place: when, with whom, where."""

    start: datetime
    end: datetime
    clinician_id: str
    location_id: str
    room_id: str | None


@dataclass(frozen=True)
class PlannedSession:
    position: int
    choice: Choice
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeriesPlan:
    sessions: tuple[PlannedSession, ...]

    @property
    def changes(self) -> int:
        return sum(len(session.changes) for session in self.sessions)


@dataclass(frozen=True)
class _FreeAt:
    """Who is free at one start (clinician -> (location, end)) and which rooms are free there, by location."""

    clinicians: dict[str, tuple[str, datetime]]
    rooms: dict[str, list[str | None]]


class FreeTimes:
    """Who and which rooms are free at a few given starts (the same wall-clock time on each day of a
    window), by the availability engine's rules: the slot grid of each working span, the minimum
    notice and horizon, the clinician's busy time and time off, a free room of the wanted kind.

    It asks only about those starts: a whole window of slots for fifty clinicians is tens of
    thousands, a series plan needs a few hundred answers. The grid, the forbidden starts and the
    room rules are the engine's own (``working_spans``, ``forbidden_starts``, ``start_bounds``), so
    a start offered here is one ``slot_at`` accepts.
    """

    def __init__(self, by_start: dict[datetime, _FreeAt]) -> None:
        self._by_start = by_start

    @classmethod
    def search(
        cls, rules: AppointmentRules, schedules: Sequence[ClinicianSchedule], rooms: Sequence[Room],
        starts: Iterable[datetime], now: datetime,
    ) -> FreeTimes:
        wanted = sorted(set(starts))
        bounds = start_bounds(rules, now, wanted[0], wanted[-1] + _MICROSECOND) if wanted else None
        if bounds is None:
            return cls({})
        wanted = [start for start in wanted if bounds.earliest <= start <= bounds.latest]
        rooms_at: dict[str, list[tuple[str, object]]] = {}
        if rules.room_kind is not None:
            for room in sorted(rooms, key=lambda r: r.room_id):
                if room.kind == rules.room_kind:
                    rooms_at.setdefault(room.location_id, []).append((room.room_id, forbidden_starts(room.busy, rules, bounds)))
        free_rooms = {
            start: {location: [room_id for room_id, forbidden in found if forbidden.allows(start)]
                    for location, found in rooms_at.items()}
            for start in wanted
        }
        by_start = {start: _FreeAt({}, free_rooms[start] if rules.room_kind else {}) for start in wanted}
        clock, spans_of = WallClock(), {}
        reach = bounds.latest + rules.duration
        for clinician in sorted(schedules, key=lambda c: c.clinician_id):
            if rules.room_kind is not None and clinician.location_id not in rooms_at:
                continue
            key = (clinician.zone, clinician.weekly_hours, tuple(clinician.date_overrides.items()))
            spans = spans_of.get(key)
            if spans is None:
                spans = spans_of[key] = working_spans(clinician, bounds.earliest, reach, clock)
            forbidden = forbidden_starts(chain(clinician.busy, clinician.time_off), rules, bounds)
            for start in wanted:
                if not (_on_grid(spans, start, rules) and forbidden.allows(start)):
                    continue
                free = by_start[start]
                if rules.room_kind is not None:
                    if not free.rooms.get(clinician.location_id):
                        continue
                else:
                    free.rooms.setdefault(clinician.location_id, [None])
                free.clinicians.setdefault(clinician.clinician_id, (clinician.location_id, start + rules.duration))
        return cls(by_start)

    def choices_at(self, start: datetime, clinician_id: str | None = None) -> list[Choice]:
        """Every (clinician, room) free at ``start``, optionally for one clinician only."""
        free = self._by_start.get(start)
        if free is None:
            return []
        return [Choice(start, end, cid, location, room_id)
                for cid, (location, end) in free.clinicians.items() if clinician_id in (None, cid)
                for room_id in free.rooms[location]]

    def best_at(self, start: datetime, anchor: Choice | None, clinician_id: str | None = None) -> Choice | None:
        """The free (clinician, room) at ``start`` with the fewest changes from ``anchor``: the same pair,
        else the same clinician in another room, else another clinician in the same room, else the
        lowest ids (what ``best_choice`` over ``choices_at`` answers, without building every pair)."""
        free = self._by_start.get(start)
        if free is None:
            return None
        clinicians = free.clinicians if clinician_id is None else {
            k: v for k, v in free.clinicians.items() if k == clinician_id}
        if not clinicians:
            return None
        if anchor is not None:
            same = clinicians.get(anchor.clinician_id)
            if same is not None:
                location, end = same
                rooms = free.rooms[location]
                room_id = anchor.room_id if anchor.room_id in rooms else rooms[0]
                return Choice(start, end, anchor.clinician_id, location, room_id)
            for cid, (location, end) in clinicians.items():
                if anchor.room_id in free.rooms[location]:
                    return Choice(start, end, cid, location, anchor.room_id)
        cid, (location, end) = next(iter(clinicians.items()))
        return Choice(start, end, cid, location, free.rooms[location][0])

    def pairs_at(self, start: datetime) -> set[tuple[str, str | None]]:
        free = self._by_start.get(start)
        if free is None:
            return set()
        return {(cid, room_id) for cid, (location, _end) in free.clinicians.items() for room_id in free.rooms[location]}


def _on_grid(spans: list[tuple[datetime, datetime]], start: datetime, rules: AppointmentRules) -> bool:
    """True when ``start`` is a candidate start of a working span (stepped from the span's start) that
    leaves room for the whole appointment, as the engine's grid makes them."""
    index = bisect_right(spans, (start, _MAX)) - 1
    if index < 0:
        return False
    span_start, span_end = spans[index]
    return start + rules.duration <= span_end and (start - span_start) % rules.slot_step == timedelta(0)


_MAX = datetime.max.replace(tzinfo=timezone.utc)


def changes_from(anchor: Choice, choice: Choice) -> tuple[str, ...]:
    """What differs from the first session: the clinician, the room (chair), or both."""
    changed = []
    if choice.clinician_id != anchor.clinician_id:
        changed.append("clinician")
    if choice.room_id != anchor.room_id:
        changed.append("room")
    return tuple(changed)


def best_choice(choices: Sequence[Choice], anchor: Choice | None) -> Choice | None:
    """The choice with the fewest changes from the anchor (then clinician and room id, for a stable answer)."""
    if not choices:
        return None
    if anchor is None:
        return min(choices, key=lambda c: (c.clinician_id, c.room_id or ""))
    return min(choices, key=lambda c: (len(changes_from(anchor, c)), "clinician" in changes_from(anchor, c),
                                       c.clinician_id, c.room_id or ""))


def candidate_starts(protocol: Protocol, first_start: datetime, zones: Iterable[ZoneInfo]) -> list[datetime]:
    """Every start a plan from ``first_start`` may use, in any of the clinic's zones (one engine search covers them)."""
    return sorted({start for zone in set(zones) for start in same_wall_clock_days(first_start, zone, protocol.max_window_days)})


def plan_series(
    protocol: Protocol, free: FreeTimes, first_start: datetime, zones: Mapping[str, ZoneInfo], clinician_id: str | None = None,
) -> SeriesPlan:
    """The whole course from ``first_start``: same wall-clock time (in the zone of session 1's location,
    ``zones`` by location id) on the earliest days the rules allow, the same clinician and room where
    possible, else the fewest changes. Raises SeriesUnavailable with a reason per position."""
    anchors = free.choices_at(first_start, clinician_id)
    zone = zones[anchors[0].location_id] if anchors else next(iter(zones.values()), ZoneInfo("UTC"))
    if not anchors:
        when = first_start.astimezone(zone).strftime("%a %d %b %H:%M")
        raise SeriesUnavailable(
            "The first session's time is not free; please choose another.",
            errors={"sessions": {"1": [f"Session 1 ({when}) is not free."]}},
        )
    best: SeriesPlan | None = None
    most_placed: list[Choice] = []  # the attempt that placed the most sessions, for the reasons
    days_in = _Memo(lambda zone: same_wall_clock_days(first_start, zone, protocol.max_window_days))
    for anchor in _likely_anchors(anchors, free, lambda a: days_in[zones[a.location_id]]):
        zone = zones[anchor.location_id]
        days = days_in[zone]
        placed = _layout(protocol, free, days, zone, anchor, clinician_id)
        if len(placed) < protocol.sessions:
            most_placed = max(most_placed, placed, key=len)
            continue
        plan = SeriesPlan(tuple(PlannedSession(i + 1, c, changes_from(anchor, c)) for i, c in enumerate(placed)))
        if best is None or _plan_rank(plan) < _plan_rank(best):
            best = plan
        if best.changes == 0:
            break
    if best is None:
        missing = range(len(most_placed) + 1, protocol.sessions + 1)
        raise SeriesUnavailable(
            f"No whole plan of {protocol.name} exists from this first session; please choose another time.",
            errors={"sessions": {str(position): [_no_room_reason(protocol, position, first_start, zone)] for position in missing}},
        )
    return best


def _plan_rank(plan: SeriesPlan) -> tuple:
    return (plan.changes, plan.sessions[-1].choice.start)


# Whether a whole plan exists does not depend on session 1's clinician and room (every later
# session takes whatever is free when the anchor's pair is not), only how many changes it has: a
# few anchors, those whose pair is free on the most days, are enough to find the fewest changes.
ANCHORS_TRIED = 8


class _Memo(dict):
    def __init__(self, make) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key):
        value = self[key] = self._make(key)
        return value


def _likely_anchors(anchors: list[Choice], free: FreeTimes, days_of) -> list[Choice]:
    """Session 1's options whose (clinician, room) is free on the most days of the window, then lowest ids."""
    pairs = _Memo(free.pairs_at)

    def free_days(anchor: Choice) -> int:
        return sum((anchor.clinician_id, anchor.room_id) in pairs[day] for day in days_of(anchor))

    distinct = sorted(set(anchors), key=lambda c: (c.clinician_id, c.room_id or ""))
    return sorted(distinct, key=lambda c: -free_days(c))[:ANCHORS_TRIED]


def _layout(protocol: Protocol, free: FreeTimes, days: list[datetime], zone: ZoneInfo, anchor: Choice,
            clinician_id: str | None) -> list[Choice]:
    """Greedy: each next session on the earliest day that keeps the gap and the weekly limit, there with
    the fewest changes from session 1 (its clinician and room when they are free)."""
    placed = [anchor]
    weeks = Counter([week_of(anchor.start, zone)])
    for start in days[1:]:
        if len(placed) == protocol.sessions:
            break
        if start - placed[-1].start < protocol.min_gap:
            continue
        week = week_of(start, zone)
        if protocol.max_per_week is not None and weeks[week] >= protocol.max_per_week:
            continue
        choice = free.best_at(start, anchor, clinician_id)
        if choice is None:
            continue
        placed.append(choice)
        weeks[week] += 1
    return placed


def _no_room_reason(protocol: Protocol, position: int, first_start: datetime, zone: ZoneInfo) -> str:
    wall = first_start.astimezone(zone).strftime("%H:%M")
    weekly = f", at most {protocol.max_per_week} a week" if protocol.max_per_week else ""
    return (f"No free time for session {position} at {wall} within {protocol.max_window_days} days of the first "
            f"(at least {_hours(protocol.min_gap)} hours apart{weekly}).")


def place_requested(
    free: FreeTimes, requested: Sequence[tuple[datetime, str | None]], zone: ZoneInfo,
) -> tuple[list[Choice], dict[int, list[str]]]:
    """The free place of each requested (start, clinician or None), keeping the first session's clinician
    and room where possible; and a reason for each position that cannot be had."""
    placed: list[Choice] = []
    missing: dict[int, list[str]] = {}
    anchor: Choice | None = None
    for position, (start, clinician_id) in enumerate(requested, start=1):
        choice = free.best_at(start, anchor, clinician_id)
        if choice is None:
            when = start.astimezone(zone).strftime("%a %d %b %H:%M")
            missing[position] = [f"Session {position} ({when}) is no longer available."]
            continue
        anchor = anchor or choice
        placed.append(choice)
    return placed, missing
