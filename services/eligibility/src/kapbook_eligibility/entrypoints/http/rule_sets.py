"""Clinicians publish versioned rule sets; each screening records the version that decided it."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_eligibility.entrypoints.http.schemas import RuleSetRequestSchema, RuleSetSchema
from kapbook_eligibility.entrypoints.wiring import container, current_staff
from kapbook_platform.staff.scopes import REVIEWS
from kapbook_platform.staff.web import require_staff

blp = Blueprint("rule_sets", __name__, url_prefix="/api/eligibility/v1", description="Eligibility rule sets (staff)")

AUTHOR_ROLES = ("clinician", "admin")


@blp.route("/rule-sets")
class RuleSets(MethodView):
    @require_staff(*AUTHOR_ROLES, scope=REVIEWS)
    @blp.response(200, RuleSetSchema(many=True))
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    def get(self):
        """Every rule set version, newest first; one is active"""
        return container().rule_sets.history()

    @require_staff(*AUTHOR_ROLES, scope=REVIEWS)
    @blp.arguments(RuleSetRequestSchema)
    @blp.response(201, RuleSetSchema)
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    @blp.alt_response(409, description="The version exists already (rule_set_version_taken)")
    def post(self, body):
        """Publish a new rule set version; it decides every screening from now on"""
        return container().rule_sets.publish(body, current_staff())
