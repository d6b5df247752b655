"""The director's report, the parts that need no I/O: the report's range and weeks in the clinic's
zone, available hours (working hours minus time off) per week, and the rates.

Available time comes from the same working spans the availability engine offers slots in, so a
week that crosses a DST change has the hours its clock really shows (a 09:00-17:00 day is 8 hours
on both sides of the change; only hours inside the skipped or repeated hour of the night differ).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kapbook_booking.domain.availability import ClinicianSchedule, local_to_utc
from kapbook_booking.domain.availability.hours import working_spans
from kapbook_booking.domain.availability.wall_clock import WallClock
from kapbook_booking.domain.errors import Invalid
from kapbook_booking.domain.intervals import Span, TimeRange, merge_spans

HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)
DEFAULT_WEEKS = 4
MAX_DAYS = 366


class InvalidReportRange(Invalid):
    code = "invalid_report_range"


@dataclass(frozen=True)
class ReportRange:
    """Local dates ``first_day`` .. ``last_day`` (both included) in ``zone``; its instants are the local
    midnights that start and end it, and it is cut into weeks that start on Mondays (the first and
    last may be shorter)."""

    first_day: date
    last_day: date
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise InvalidReportRange("The range must end on or after the day it starts.", errors={"until": ["before from"]})
        if (self.last_day - self.first_day).days + 1 > MAX_DAYS:
            raise InvalidReportRange(f"A report covers at most {MAX_DAYS} days.", errors={"until": ["range too long"]})

    @classmethod
    def last_full_weeks(cls, today: date, zone: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> ReportRange:
        """The ``weeks`` whole Monday-to-Sunday weeks before the week of ``today``."""
        this_monday = today - timedelta(days=today.weekday())
        return cls(this_monday - timedelta(weeks=weeks), this_monday - ONE_DAY, zone)

    @property
    def start(self) -> datetime:
        return local_midnight(self.zone, self.first_day)

    @property
    def end(self) -> datetime:
        return local_midnight(self.zone, self.last_day + ONE_DAY)

    def week_starts(self) -> list[date]:
        """The first local day of each week of the report: ``first_day``, then every Monday after it."""
        days = [self.first_day]
        monday = self.first_day - timedelta(days=self.first_day.weekday()) + timedelta(weeks=1)
        while monday <= self.last_day:
            days.append(monday)
            monday += timedelta(weeks=1)
        return days

    def week_bounds(self) -> list[datetime]:
        """The UTC instants where the weeks start, and the report's end: one more than the weeks."""
        return [local_midnight(self.zone, day) for day in self.week_starts()] + [self.end]


def local_midnight(zone: ZoneInfo, day: date) -> datetime:
    return local_to_utc(zone, day, time(0))


def available_spans(schedule: ClinicianSchedule, start: datetime, end: datetime, clock: WallClock) -> list[Span]:
    """The schedule's working time in [start, end) less its time off, merged, in order."""
    spans = [(max(s, start), min(e, end)) for s, e in working_spans(schedule, start, end - _TICK, clock)]
    return subtract(spans, schedule.time_off)


def subtract(spans: Sequence[Span], removed: Iterable[TimeRange]) -> list[Span]:
    """``spans`` (merged, ordered) with every instant of ``removed`` taken out."""
    cuts = merge_spans((r.start, r.end) for r in removed)
    left: list[Span] = []
    for start, end in spans:
        for cut_start, cut_end in cuts:
            if cut_end <= start or cut_start >= end:
                continue
            if cut_start > start:
                left.append((start, cut_start))
            start = max(start, cut_end)
            if start >= end:
                break
        if start < end:
            left.append((start, end))
    return left


def hours_per_week(spans: Iterable[Span], bounds: Sequence[datetime]) -> list[float]:
    """Hours of ``spans`` inside each [bounds[i], bounds[i + 1])."""
    weeks = [0.0] * (len(bounds) - 1)
    for start, end in spans:
        for index in range(len(weeks)):
            overlap = min(end, bounds[index + 1]) - max(start, bounds[index])
            if overlap > timedelta(0):
                weeks[index] += overlap / HOUR
    return weeks


def rate(part: float, whole: float) -> float | None:
    """``part / whole`` as a percentage with one decimal, or None when there is nothing to divide by."""
    return round(100 * part / whole, 1) if whole else None


_TICK = timedelta(microseconds=1)
