"""Local wall-clock hours to UTC instants, day by day, across DST gaps and repeats.

Local hours [start, end) run from the first instant the clock reads `start` or later to the
instant after which it never again reads earlier than `end`. So a start inside a
spring-forward gap begins when the gap ends (02:00 or 02:30 in New York on that day means
03:00 EDT), an end inside it ends there, and on fall-back days the repeated hour is working
time (01:00-01:30 is 01:00 EDT to 01:30 EST).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kapbook_booking.domain.intervals import UTC, Span

_MICROSECOND = timedelta(microseconds=1)

LocalHours = tuple[tuple[time, time], ...]


def check_local_hours(start: time, end: time) -> None:
    """Refuse aware times and intervals that do not end after they start, the same day."""
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("working hours are naive local wall-clock times")
    if end <= start:
        raise ValueError(f"working hours must end after they start, same day: {start}-{end}")


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


class WallClock:
    """Per-request memo of wall-clock conversions; clinicians in one zone share them."""

    def __init__(self) -> None:
        self._days: dict[tuple[ZoneInfo, date, LocalHours], list[Span]] = {}
        self._instants: dict[tuple[ZoneInfo, date, time, bool], datetime] = {}

    def day_spans(self, zone: ZoneInfo, day: date, hours: LocalHours) -> list[Span]:
        """The day's local hours as UTC spans, in the order given (see `convert_day`)."""
        key = (zone, day, hours)
        spans = self._days.get(key)
        if spans is None:
            spans = self._days[key] = convert_day(zone, day, hours, self.to_utc)
        return spans

    def to_utc(self, zone: ZoneInfo, day: date, wall: time, ends_interval: bool) -> datetime:
        """`local_to_utc`, memoised."""
        key = (zone, day, wall, ends_interval)
        instant = self._instants.get(key)
        if instant is None:
            instant = local_to_utc(zone, day, wall, ends_interval=ends_interval)
            self._instants[key] = instant
        return instant


def _uncached_to_utc(zone: ZoneInfo, day: date, wall: time, ends_interval: bool) -> datetime:
    return local_to_utc(zone, day, wall, ends_interval=ends_interval)


def convert_day(
    zone: ZoneInfo,
    day: date,
    hours: LocalHours,
    to_utc: Callable[[ZoneInfo, date, time, bool], datetime] = _uncached_to_utc,
) -> list[Span]:
    """The day's local (start, end) hours as UTC spans; an interval wholly inside a gap vanishes."""
    spans = []
    for start, end in hours:
        start_utc, end_utc = to_utc(zone, day, start, False), to_utc(zone, day, end, True)
        if start_utc < end_utc:
            spans.append((start_utc, end_utc))
    return spans
