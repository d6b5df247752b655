"""The director's report (issue 13 §3): per clinician, per chair or room and for the whole clinic, over
a range of local dates, how much of the available time was booked, how often patients missed or
cancelled late, how many series were completed, and how long patients waited from consultation to
their first dose; weekly utilisation for the chart.

Bookings are counted by SQL aggregates (``adapters/report_repository.py``); available time is the
clinicians' working hours less time off and date overrides, read by the availability loader and
cut into spans by the availability engine, so it agrees with the slots patients were offered.

To add a clinic figure (the waitlist fill rate, say), write a function ``(session, range, now) -> Figure``
and append it to ``CLINIC_FIGURES``: the page, the CSV and the API list every figure there.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kapbook_booking.adapters import report_repository as report_repo
from kapbook_booking.adapters.schedules import load_clinic_hours
from kapbook_booking.domain.availability.wall_clock import WallClock
from kapbook_booking.domain.intervals import Span, merge_spans
from kapbook_booking.domain.reporting import ReportRange, available_spans, hours_per_week, rate
from kapbook_booking.service_layer.audit_trail import csv_safe
from kapbook_booking.service_layer.staff_records import StaffWrites
from kapbook_platform.clock import Clock

Record = dict[str, Any]
COUNTS = ("booked_hours", "appointments", "kept", "no_shows", "cancellations", "late_cancellations")


@dataclass(frozen=True)
class Figure:
    """One clinic-wide figure: its value (None when there was nothing to count) and what it is made of."""

    key: str
    label: str
    value: float | None
    unit: str  # "%" or "days"
    numerator: float
    denominator: float
    explanation: str


def series_completion_figure(session: Session, report: ReportRange, now: datetime) -> Figure:
    found = report_repo.series_completion(session, report.start, report.end, now)
    return Figure("series_completion_rate", "Series completion rate", rate(found["completed"], found["due"]), "%",
                  found["completed"], found["due"],
                  "Series whose last session fell in the range and is over, with every session attended, of all such series.")


def first_dose_figure(session: Session, report: ReportRange, now: datetime) -> Figure:
    found = report_repo.consultation_to_first_dose(session, report.start, report.end)
    median = None if found["median_days"] is None else round(found["median_days"], 1)
    return Figure("median_days_consultation_to_first_dose", "Median days from consultation to first dose", median,
                  "days", median or 0, found["patients"],
                  "For each patient whose first dosing session fell in the range: days since their first consultation.")


def waitlist_fill_figure(session: Session, report: ReportRange, now: datetime) -> Figure:
    found = report_repo.waitlist_fill(session, report.start, report.end)
    return Figure("waitlist_fill_rate", "Waitlist fill rate", rate(found["filled"], found["offered"]), "%",
                  found["filled"], found["offered"],
                  "Freed times in the range offered to waiting patients, the share one of them took.")


CLINIC_FIGURES: tuple[Callable[[Session, ReportRange, datetime], Figure], ...] = (
    series_completion_figure, first_dose_figure, waitlist_fill_figure)


@dataclass(frozen=True)
class ReportQuery:
    """Local dates (both included) in an IANA zone; unset: the last 4 full weeks in the first location's zone."""

    first_day: date | None = None
    last_day: date | None = None
    zone: str | None = None


@dataclass(frozen=True)
class DirectorReports:
    writes: StaffWrites
    clock: Clock

    def report(self, query: ReportQuery) -> Record:
        """Every figure of the report for the range the query names (see the module docstring)."""
        with self.writes.reading() as session:
            report = self._range(session, query)
            bounds = report.week_bounds()
            schedules = load_clinic_hours(session, report.start, report.end)
            by_clinician = report_repo.booking_counts(session, report.start, report.end, bounds, "clinician_id")
            by_room = report_repo.booking_counts(session, report.start, report.end, bounds, "room_id")
            clinicians, rooms = report_repo.clinicians_and_rooms(session)
            now = self.clock()
            figures = [figure(session, report, now) for figure in CLINIC_FIGURES]
        clock = WallClock()
        spans = [(schedule, available_spans(schedule, report.start, report.end, clock)) for schedule in schedules]
        people = _available_weeks(((s.clinician_id, found) for s, found in spans), bounds)
        places = _available_weeks(((s.location_id, found) for s, found in spans), bounds)
        clinician_rows = _rows(clinicians, people, _counts(by_clinician, len(bounds) - 1))
        room_available = {room["id"]: places.get(room["location_id"], []) for room in rooms}
        room_rows = _rows(rooms, room_available, _counts(by_room, len(bounds) - 1))
        weeks = _weeks(report, people, _counts(by_clinician, len(bounds) - 1))
        counts = _sum_counts(by_clinician)
        available = sum(sum(per_week) for per_week in people.values())
        totals = _figures_row({"id": "clinic", "name": "Whole clinic"}, counts["booked_hours"], available, counts)
        return {
            "first_day": report.first_day, "last_day": report.last_day, "timezone": report.zone.key,
            "start": report.start.astimezone(report.zone), "end": report.end.astimezone(report.zone),
            "clinicians": clinician_rows, "rooms": room_rows, "totals": totals, "weeks": weeks,
            "figures": [asdict(figure) for figure in _rate_figures(totals) + figures],
        }

    def export(self, query: ReportQuery) -> Iterator[list[str]]:
        """The report as CSV rows (header first): one row per clinician, room, the clinic, each week and
        each clinic figure, every cell safe to open in a spreadsheet."""
        found = self.report(query)
        yield list(CSV_COLUMNS)
        for section, rows in (("clinician", found["clinicians"]), ("room", found["rooms"]), ("clinic", [found["totals"]])):
            for row in rows:
                yield _csv_row(section, row["id"], row["name"], row.get("location_name", ""), row)
        for week in found["weeks"]:
            yield _csv_row("week", week["week_start"].isoformat(), f"Week of {week['week_start']:%Y-%m-%d}", "", week)
        for figure in found["figures"]:
            cells = {"section": "figure", "id": figure["key"], "name": figure["label"],
                     "value": _cell(figure["value"]), "unit": figure["unit"]}
            yield [csv_safe(cells.get(column, "")) for column in CSV_COLUMNS]

    def _range(self, session: Session, query: ReportQuery) -> ReportRange:
        zone = ZoneInfo(query.zone or report_repo.first_location_zone(session) or "UTC")
        default = ReportRange.last_full_weeks(self.clock().astimezone(zone).date(), zone)
        return ReportRange(query.first_day or default.first_day, query.last_day or default.last_day, zone)


CSV_COLUMNS = ("section", "id", "name", "location", "booked_hours", "available_hours", "utilisation_percent",
               "appointments", "no_shows", "no_show_rate_percent", "cancellations", "late_cancellations",
               "late_cancel_rate_percent", "value", "unit")
_CSV_FIELDS = {"utilisation_percent": "utilisation", "no_show_rate_percent": "no_show_rate",
               "late_cancel_rate_percent": "late_cancel_rate"}


def _csv_row(section: str, subject_id: str, name: str, location: str, row: Record) -> list[str]:
    cells = {"section": section, "id": subject_id, "name": name, "location": location}
    for column in CSV_COLUMNS[4:13]:
        cells[column] = _cell(row.get(_CSV_FIELDS.get(column, column)))
    return [csv_safe(cells.get(column, "")) for column in CSV_COLUMNS]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _available_weeks(keyed_spans, bounds) -> dict[str, list[float]]:
    """Hours per week of the union of each key's spans (a room's location: anyone working there)."""
    grouped: dict[str, list[Span]] = defaultdict(list)
    for key, spans in keyed_spans:
        grouped[key].extend(spans)
    return {key: hours_per_week(merge_spans(spans), bounds) for key, spans in grouped.items()}


def _counts(rows: list[Record], weeks: int) -> dict[str, list[Record]]:
    """The repository's (subject, week) rows as each subject's list of week counts."""
    by_subject: dict[str, list[Record]] = defaultdict(lambda: [dict.fromkeys(COUNTS, 0) for _ in range(weeks)])
    for row in rows:
        by_subject[row["subject_id"]][row["week"]] = {key: row[key] or 0 for key in COUNTS}
    return by_subject


def _sum_counts(rows: list[Record]) -> Record:
    return {key: sum(row[key] or 0 for row in rows) for key in COUNTS}


def _figures_row(subject: Record, booked: float, available: float, counts: Record) -> Record:
    return {
        **subject,
        "booked_hours": round(booked, 2),
        "available_hours": round(available, 2),
        "utilisation": rate(booked, available),
        "appointments": counts["appointments"],
        "no_shows": counts["no_shows"],
        "no_show_rate": rate(counts["no_shows"], counts["kept"]),
        "cancellations": counts["cancellations"],
        "late_cancellations": counts["late_cancellations"],
        "late_cancel_rate": rate(counts["late_cancellations"], counts["appointments"]),
    }


def _rows(subjects: list[Record], available: dict[str, list[float]], counts: dict[str, list[Record]]) -> list[Record]:
    """A row per subject that is active, has hours or has bookings in the range."""
    rows = []
    for subject in subjects:
        weeks = counts.get(subject["id"])
        if not (subject["active"] or weeks or any(available.get(subject["id"], ()))):
            continue
        total = _sum_counts(weeks or [])
        fields = {key: subject[key] for key in ("id", "name", "location_name") if key in subject}
        rows.append(_figures_row(fields, total["booked_hours"], sum(available.get(subject["id"], ())), total))
    return rows


def _weeks(report: ReportRange, available: dict[str, list[float]], counts: dict[str, list[Record]]) -> list[Record]:
    weeks = []
    for index, week_start in enumerate(report.week_starts()):
        booked = sum(subject[index]["booked_hours"] for subject in counts.values())
        hours = sum(per_week[index] for per_week in available.values())
        weeks.append({"week_start": week_start, "booked_hours": round(booked, 2), "available_hours": round(hours, 2),
                      "utilisation": rate(booked, hours)})
    return weeks


def _rate_figures(totals: Record) -> list[Figure]:
    return [
        Figure("utilisation", "Utilisation", totals["utilisation"], "%", totals["booked_hours"], totals["available_hours"],
               "Booked hours of all clinicians, of their available hours (working hours less time off)."),
        Figure("no_show_rate", "No-show rate", totals["no_show_rate"], "%", totals["no_shows"],
               totals["appointments"] - totals["cancellations"], "Appointments missed, of those not cancelled."),
        Figure("late_cancel_rate", "Late-cancel rate", totals["late_cancel_rate"], "%", totals["late_cancellations"],
               totals["appointments"], "Appointments cancelled inside their type's cancellation notice, of all appointments."),
    ]
