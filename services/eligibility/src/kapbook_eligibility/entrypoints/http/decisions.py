"""The decision lookup other Kapbook services call (the booking service, before treatment bookings)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_eligibility.entrypoints.wiring import container
from kapbook_platform.contracts.http import EligibilityDecisionSchema
from kapbook_platform.staff.web import require_service_token

blp = Blueprint("decisions", __name__, url_prefix="/api/eligibility/v1", description="Decision lookup (services)")


@blp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/decisions/<string:screening_id>")
class DecisionById(MethodView):
    @require_service_token
    @blp.response(200, EligibilityDecisionSchema)
    @blp.alt_response(401, description="No valid service credential")
    @blp.alt_response(404, description="No such screening")
    def get(self, screening_id):
        """A screening's outcome and any clinician decision: crisis and needs_review block treatment until approved"""
        return container().screenings.decision_for(screening_id)
