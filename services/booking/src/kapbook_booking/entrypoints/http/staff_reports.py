"""The director's report over the API: the same figures as the console's page (admin)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE

from kapbook_booking.entrypoints.http.staff_access import ADMIN, staff_only
from kapbook_booking.entrypoints.http.staff_reports_schemas import DirectorReportQuerySchema, DirectorReportSchema
from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.director_report import ReportQuery

blp = Blueprint("staff_reports", __name__, url_prefix="/api/booking/v1", description="Reports (admin)")


@blp.route("/reports/director")
@staff_only(blp, *ADMIN)
@blp.arguments(DirectorReportQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DirectorReportSchema)
def director_report(query):
    """Utilisation, no-shows, late cancellations, series completion and time to first dose over a range (admin)"""
    return container().director_reports.report(ReportQuery(query["first_day"], query["last_day"], query["timezone"]))
