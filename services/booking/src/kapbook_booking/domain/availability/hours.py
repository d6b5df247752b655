"""Working hours: recurring weekly intervals, date overrides, and the UTC spans they make.

A day's local hours are its date override when it has one (an empty override closes the day),
else the weekly intervals in effect on that date. A day's intervals are merged when they
overlap or touch, after the conversion to UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kapbook_booking.domain.availability.wall_clock import LocalHours, WallClock, check_local_hours, convert_day
from kapbook_booking.domain.intervals import Span, TimeRange, as_utc, merge_spans

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)


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
        check_local_hours(self.start, self.end)

    def applies_on(self, day: date) -> bool:
        """True when this interval is in effect on the local date `day`."""
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_until is None or day <= self.effective_until

    def overlaps(self, other: WeeklyHours) -> bool:
        """True when both apply on some date and share a moment of the day (touching is fine)."""
        same_time = self.weekday == other.weekday and self.start < other.end and other.start < self.end
        return same_time and _periods_meet(self, other)

    def describe(self) -> str:
        """E.g. "Monday 09:00-12:30"."""
        return f"{WEEKDAYS[self.weekday]} {self.start:%H:%M}-{self.end:%H:%M}"


def _periods_meet(a: WeeklyHours, b: WeeklyHours) -> bool:
    """True when the effective periods (inclusive, open-ended when None) share a date."""
    a_from, a_until = a.effective_from or date.min, a.effective_until or date.max
    b_from, b_until = b.effective_from or date.min, b.effective_until or date.max
    return a_from <= b_until and b_from <= a_until


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
                check_local_hours(start, end)
        # Normalised so equal schedules compare and hash equal (see grid.GridBook).
        object.__setattr__(self, "date_overrides", overrides)
        for name in ("weekly_hours", "time_off", "busy"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


class WeekPlan:
    """A clinician's local hours per date: overrides first, then weekly hours."""

    def __init__(self, clinician: ClinicianSchedule) -> None:
        self._overrides = clinician.date_overrides
        by_day: list[list[WeeklyHours]] = [[] for _ in range(7)]
        for hours in clinician.weekly_hours:
            by_day[hours.weekday].append(hours)
        self._by_weekday = by_day
        self._constant = [_constant_hours(day_hours) for day_hours in by_day]

    def hours_on(self, day: date) -> LocalHours:
        """The local (start, end) hours in effect on `day`."""
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


def working_spans(
    clinician: ClinicianSchedule, first: datetime, last: datetime, clock: WallClock
) -> list[Span]:
    """Merged UTC working spans overlapping [first, last], in order."""
    zone = clinician.zone
    plan = WeekPlan(clinician)
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
    plan = WeekPlan(clinician)
    spans = convert_day(clinician.zone, day, plan.hours_on(day))
    return [TimeRange(s, e) for s, e in merge_spans(spans)]


def working_intervals_between(
    clinician: ClinicianSchedule, start: datetime, end: datetime
) -> list[TimeRange]:
    """UTC working intervals overlapping [start, end), clipped to it (staff calendars)."""
    start, end = as_utc(start), as_utc(end)
    spans = working_spans(clinician, start, end - _MICROSECOND, WallClock())
    return [TimeRange(max(s, start), min(e, end)) for s, e in spans]
