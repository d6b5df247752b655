"""A patient's trend in the console: PHQ-9 and GAD-7 totals over time, as charts and as a table.

Like the screening pages, the totals come from the eligibility service on each view (as the signed-in
staff member, so it authorises and audits the read) and are never stored here; the dosing sessions
that mark the time axis are the booking service's own bookings.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import redirect, request, url_for
from markupsafe import Markup

from kapbook_booking.entrypoints.web.console.access import REVIEWERS, bp, console_view, page
from kapbook_booking.entrypoints.web.console.screenings import EligibilityProblem, _client, clinic_zone
from kapbook_booking.entrypoints.web.trend_chart import GAD7_BANDS, PHQ9_BANDS, trend_svg
from kapbook_booking.entrypoints.wiring import container

NOTICES = {"followed_up": "Follow-up recorded. The alert is closed."}
SOURCE_NAMES = {"screening": "Screening", "check_in": "Check-in"}


def trend_rows(trend: dict[str, Any], zone: ZoneInfo) -> list[dict[str, Any]]:
    """The table under the charts: one row per measurement, oldest first, times in the clinic's zone."""
    baseline = trend["outcome"]["baseline_id"]
    return [point | {"taken_at": datetime.fromisoformat(point["taken_at"]).astimezone(zone),
                     "source_name": SOURCE_NAMES[point["source"]], "is_baseline": point["id"] == baseline}
            for point in trend["points"]]


@bp.get("/trends/<string:record_id>")
@console_view(*REVIEWERS)
def trend(record_id: str):
    """A patient's PHQ-9 and GAD-7 over time (by any of their screenings or check-ins), dosing sessions marked."""
    zone_name = clinic_zone()
    zone = ZoneInfo(zone_name)
    try:
        data = _client().trend(record_id)
    except EligibilityProblem as problem:
        heading = "No such patient record" if problem.status == 404 else "The trend cannot be shown"
        return page("console/problem.html", problem.status, heading=heading, message=problem.message)
    doses = [row["start"] for row in container().patients.dosing_sessions(data["patient"]["email"])]
    rows = trend_rows(data, zone)
    charts = [
        Markup(trend_svg("PHQ-9", [(row["taken_at"], row["phq9"]) for row in rows], PHQ9_BANDS, doses, zone)),
        Markup(trend_svg("GAD-7", [(row["taken_at"], row["gad7"]) for row in rows], GAD7_BANDS, doses, zone)),
    ]
    pending = [check_in | {"submitted_at": datetime.fromisoformat(check_in["submitted_at"]).astimezone(zone)}
               for check_in in data["check_ins"] if check_in["status"] == "pending_review"]
    return page("console/trend.html", trend=data, rows=rows, charts=charts, outcome=data["outcome"], pending=pending,
                doses=[dose.astimezone(zone) for dose in doses], record_id=record_id, zone=zone_name,
                notice=NOTICES.get(request.args.get("notice", "")))


@bp.post("/trends/<string:record_id>/check-ins/<string:check_in_id>/follow-up")
@console_view(*REVIEWERS)
def follow_up_check_in(record_id: str, check_in_id: str):
    """A clinician has followed up a check-in's alert: its review item closes."""
    try:
        _client().follow_up_check_in(check_in_id)
    except EligibilityProblem as problem:
        return page("console/problem.html", problem.status, heading="The follow-up was not recorded",
                    message=problem.message)
    return redirect(url_for("console.trend", record_id=record_id, notice="followed_up"), code=303)
