"""Clinicians review screenings: the queue, one screening with its answers (audited), the decision."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import RAISE
from flask_smorest import Blueprint

from kapbook_eligibility.entrypoints.http.schemas import (
    ReviewQuerySchema,
    ReviewRequestSchema,
    ReviewResultSchema,
    ScreeningDetailSchema,
    ScreeningSummarySchema,
)
from kapbook_eligibility.entrypoints.wiring import container, current_staff
from kapbook_eligibility.service_layer.reviews import ReviewScreening
from kapbook_platform.staff.scopes import REVIEWS
from kapbook_platform.staff.web import audited_address, require_staff

blp = Blueprint("reviews", __name__, url_prefix="/api/eligibility/v1", description="Clinician review (staff)")

REVIEWER_ROLES = ("clinician", "admin")


@blp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/reviews")
class ReviewQueue(MethodView):
    @require_staff(*REVIEWER_ROLES, scope=REVIEWS)
    # webargs ignores unknown query parameters unless told otherwise; a typo should not go unnoticed.
    @blp.arguments(ReviewQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, ScreeningSummarySchema(many=True))
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    def get(self, query):
        """Screenings waiting for review, crises first (status=pending), or the latest reviewed (status=reviewed)"""
        return container().reviews.queue(query["status"], current_staff(), audited_address())


@blp.route("/screenings/<string:screening_id>")
class ScreeningById(MethodView):
    @require_staff(*REVIEWER_ROLES, scope=REVIEWS)
    @blp.response(200, ScreeningDetailSchema)
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    @blp.alt_response(404, description="No such screening")
    def get(self, screening_id):
        """Open a screening with its answers and scores (every opening is audited)"""
        return container().reviews.open(screening_id, current_staff(), audited_address())


@blp.route("/screenings/<string:screening_id>/review")
class ScreeningReview(MethodView):
    @require_staff(*REVIEWER_ROLES, scope=REVIEWS)
    @blp.arguments(ReviewRequestSchema)
    @blp.response(201, ReviewResultSchema)
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    @blp.alt_response(404, description="No such screening")
    @blp.alt_response(409, description="Reviewed already (already_reviewed) or decided without review (review_not_needed)")
    def post(self, body, screening_id):
        """Approve or decline a screening that needs review; the decision is final and published"""
        command = ReviewScreening(screening_id, body["decision"], body["note"], current_staff())
        return container().reviews.review(command)
