"""The audit page (administrators, helper audit): the booking service's audit rows, newest first, with
filters (who, action, resource, dates in UTC), paging, and the same rows as CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone

from flask import Response, request

from kapbook_booking.service_layer.audit_trail import AuditFilter
from kapbook_booking.entrypoints.web.console.access import bp, console_view, page
from kapbook_booking.entrypoints.web.console.choices import read_date
from kapbook_booking.entrypoints.wiring import container

FILTER_FIELDS = ("who", "action", "resource", "from", "to")


def read_filter() -> AuditFilter:
    """The filters in the query string; an unreadable date is no limit (the form shows it empty)."""
    args = request.args
    since, until = read_date(args.get("from"), None), read_date(args.get("to"), None)
    return AuditFilter(
        actor=args.get("who", "").strip() or None,
        action=args.get("action", "").strip() or None,
        target=args.get("resource", "").strip() or None,
        since=datetime.combine(since, time(), timezone.utc) if since else None,
        # "to" is the last day shown, so the limit is the next midnight.
        until=datetime.combine(until + timedelta(days=1), time(), timezone.utc) if until else None,
    )


def filter_args() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_FIELDS if request.args.get(name)}


@bp.get("/audit")
@console_view("admin")
def audit():
    try:
        page_number = int(request.args.get("page", "1"))
    except ValueError:
        page_number = 1
    found = container().audit_trail.page(read_filter(), page_number)
    return page("console/audit.html", found=found, filters=filter_args())


@bp.get("/audit.csv")
@console_view("admin")
def audit_csv():
    # The generator reads through the use case alone (no request context), so it can stream.
    rows = container().audit_trail.export(read_filter())
    response = Response(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="kapbook-audit.csv"'
    response.headers["Cache-Control"] = "no-store"  # secure_page leaves non-HTML responses alone
    return response


def csv_lines(rows: Iterator[list[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
