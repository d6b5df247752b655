"""Half-open time ranges and a sorted index of the slot starts they forbid.

Everything here is pure: aware datetimes in, aware datetimes out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import itemgetter

Span = tuple[datetime, datetime]
UTC = timezone.utc


def as_utc(instant: datetime) -> datetime:
    """The same instant in UTC; refuses naive datetimes.

    Arithmetic on an aware datetime adds to its wall clock, so everything the
    engine adds durations to is first moved to UTC, where wall time is elapsed time.
    """
    if instant.tzinfo is UTC:
        return instant
    if instant.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got {instant!r}")
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    """A half-open range [start, end) of instants, stored in UTC; touching ranges do not overlap."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"TimeRange must end after it starts: {self.start} .. {self.end}")

    def overlaps(self, other: TimeRange) -> bool:
        """True when the two half-open ranges share at least one instant."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: TimeRange) -> bool:
        """True when `other` lies entirely inside this range."""
        return self.start <= other.start and other.end <= self.end


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sort (start, end) pairs and merge those that overlap or touch."""
    ordered = sorted(spans, key=itemgetter(0))
    if not ordered:
        return []
    merged: list[Span] = []
    current_start, current_end = ordered[0]
    for start, end in ordered:
        if start > current_end:
            merged.append((current_start, current_end))
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    merged.append((current_start, current_end))
    return merged


@dataclass(frozen=True)
class ForbiddenStarts:
    """Slot starts ruled out by blocks, as sorted open ranges (low, high).

    A slot starting at s occupies [s - lead, s + tail). It overlaps a block
    [b0, b1) exactly when b0 - tail < s < b1 + lead, so each merged block turns
    into one open range of forbidden starts. Blocks are merged before shifting,
    which keeps both `lows` and `highs` ascending; that is what lets a single
    bisect answer every question below.
    """

    lows: tuple[datetime, ...]
    highs: tuple[datetime, ...]

    @classmethod
    def from_blocks(
        cls, blocks: Iterable[TimeRange], lead: timedelta, tail: timedelta, within: Span
    ) -> ForbiddenStarts:
        """Index the blocks that can affect starts inside the closed span `within`."""
        first, last = within
        too_late, too_early = last + tail, first - lead
        spans = [(b.start, b.end) for b in blocks if b.start < too_late and b.end > too_early]
        merged = merge_spans(spans)
        return cls(tuple(s - tail for s, _ in merged), tuple(e + lead for _, e in merged))

    def allows(self, start: datetime) -> bool:
        """True when a slot may start at `start`."""
        before = bisect_left(self.lows, start)
        return before == 0 or start >= self.highs[before - 1]

    def allowed_runs(self, starts: Sequence[datetime]) -> list[tuple[int, int]]:
        """Index ranges [i, j) of the ascending, non-empty `starts` that are allowed."""
        lows, highs = self.lows, self.highs
        runs: list[tuple[int, int]] = []
        cursor, count, last = 0, len(starts), starts[-1]
        index = bisect_right(highs, starts[0])
        while index < len(lows) and lows[index] < last and cursor < count:
            cut = bisect_right(starts, lows[index], cursor)
            if cut > cursor:
                runs.append((cursor, cut))
            cursor = bisect_left(starts, highs[index], cut)
            index += 1
        if cursor < count:
            runs.append((cursor, count))
        return runs
