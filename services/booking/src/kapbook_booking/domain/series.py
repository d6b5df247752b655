"""Treatment protocols and series: the rules a course of sessions keeps, and the planner that lays
one out on the availability engine.

Pure: aware datetimes and the engine's schedules in, plans and per-session reasons out. A series
keeps every session at the first session's wall-clock time in the clinic's zone (DST-exact, via
`wall_clock.local_to_utc`), counts sessions per calendar week (Monday to Sunday) in that zone,
and prefers one clinician and one chair for the whole course.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kapbook_booking.domain.availability import AppointmentRules, ClinicianSchedule, Room, Slot, find_slots
from kapbook_booking.domain.availability.grid import forbidden_starts, start_bounds
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


@dataclass
class FreeTimes:
    """Who and which rooms are free at given starts, from one engine search over the whole window.

    ``find_slots`` answers each (start, clinician) with the lowest free room; the other free rooms
    come from the rooms' own busy ranges, so the planner can keep a patient in the same chair.
    """

    rules: AppointmentRules
    slots_by_start: dict[datetime, list[Slot]]
    rooms_by_location: dict[str, list[Room]]
    _bounds: object = None
    _room_checks: dict[str, object] = field(default_factory=dict)

    @classmethod
    def search(
        cls, rules: AppointmentRules, schedules: Sequence[ClinicianSchedule], rooms: Sequence[Room],
        starts: Iterable[datetime], now: datetime,
    ) -> FreeTimes:
        wanted = sorted(set(starts))
        by_start: dict[datetime, list[Slot]] = {start: [] for start in wanted}
        if wanted:
            found = find_slots(rules, schedules, rooms, now=now, window_start=wanted[0], window_end=wanted[-1] + _MICROSECOND)
            for slot in found:
                bucket = by_start.get(slot.start_utc)
                if bucket is not None:
                    bucket.append(slot)
        by_location: dict[str, list[Room]] = {}
        if rules.room_kind is not None:
            for room in sorted(rooms, key=lambda r: r.room_id):
                if room.kind == rules.room_kind:
                    by_location.setdefault(room.location_id, []).append(room)
        free = cls(rules, by_start, by_location)
        free._bounds = start_bounds(rules, now, wanted[0], wanted[-1] + _MICROSECOND) if wanted else None
        return free

    def choices_at(self, start: datetime, clinician_id: str | None = None) -> list[Choice]:
        """Every (clinician, room) free at ``start``, optionally for one clinician only."""
        choices = []
        for slot in self.slots_by_start.get(start, ()):
            if clinician_id is not None and slot.clinician_id != clinician_id:
                continue
            for room_id in self._free_rooms(slot):
                choices.append(Choice(slot.start_utc, slot.end_utc, slot.clinician_id, slot.location_id, room_id))
        return choices

    def _free_rooms(self, slot: Slot) -> list[str | None]:
        if slot.room_id is None:
            return [None]
        rooms = [room.room_id for room in self.rooms_by_location.get(slot.location_id, ())
                 if self._room_allows(room, slot.start_utc)]
        return rooms or [slot.room_id]

    def _room_allows(self, room: Room, start: datetime) -> bool:
        check = self._room_checks.get(room.room_id)
        if check is None:
            check = self._room_checks[room.room_id] = forbidden_starts(room.busy, self.rules, self._bounds)
        return check.allows(start)


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
    for anchor in _distinct_anchors(anchors):
        zone = zones[anchor.location_id]
        days = same_wall_clock_days(first_start, zone, protocol.max_window_days)
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


def _distinct_anchors(anchors: list[Choice]) -> list[Choice]:
    """Session 1's options, one per (clinician, room), lowest ids first."""
    return sorted(set(anchors), key=lambda c: (c.clinician_id, c.room_id or ""))


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
        choice = best_choice(free.choices_at(start, clinician_id), anchor)
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
        choice = best_choice(free.choices_at(start, clinician_id), anchor)
        if choice is None:
            when = start.astimezone(zone).strftime("%a %d %b %H:%M")
            missing[position] = [f"Session {position} ({when}) is no longer available."]
            continue
        anchor = anchor or choice
        placed.append(choice)
    return placed, missing
