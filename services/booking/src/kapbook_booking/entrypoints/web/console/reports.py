"""The director's report (administrators): utilisation per clinician and per chair or room, no-show and
late-cancel rates, series completion and time to first dose over a range of dates, a chart of weekly
utilisation, and the same numbers as CSV."""
from __future__ import annotations

from flask import Response, request

from kapbook_booking.entrypoints.web.charts import weekly_utilisation_svg
from kapbook_booking.entrypoints.web.console.access import bp, console_view, page
from kapbook_booking.entrypoints.web.console.audit import csv_lines
from kapbook_booking.entrypoints.web.console.choices import pick_zone, read_date
from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.director_report import ReportQuery
from kapbook_booking.service_layer.errors import Invalid


def read_query() -> ReportQuery:
    """The range in the query string; an unreadable date or zone is the default (the form shows it)."""
    args = request.args
    zone = pick_zone(args.get("tz"), "") or None
    return ReportQuery(read_date(args.get("from"), None), read_date(args.get("until"), None), zone)


@bp.get("/reports/director")
@console_view("admin")
def director_report():
    query = read_query()
    reports, error = container().director_reports, None
    try:
        report = reports.report(query)
    except Invalid as refusal:  # e.g. until before from: the default range, and why
        report, error = reports.report(ReportQuery(zone=query.zone)), refusal.message
    weeks = [(week["week_start"], week["utilisation"]) for week in report["weeks"]]
    chart = weekly_utilisation_svg(weeks, f"Bar chart of weekly utilisation, {len(weeks)} weeks; "
                                          "the table below it has the same numbers.")
    zones = sorted({place["timezone"] for place in container().catalog.locations()} | {report["timezone"], "UTC"})
    return page("console/director_report.html", report=report, chart=chart, zones=zones, error=error)


@bp.get("/reports/director.csv")
@console_view("admin")
def director_report_csv():
    rows = container().director_reports.export(read_query())
    response = Response(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="kapbook-director-report.csv"'
    response.headers["Cache-Control"] = "no-store"  # secure_page leaves non-HTML responses alone
    return response
