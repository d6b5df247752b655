"""Patients submit the screening questionnaire."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_eligibility.entrypoints.http.schemas import ScreeningRequestSchema, ScreeningResultSchema
from kapbook_eligibility.entrypoints.wiring import container
from kapbook_eligibility.service_layer.screenings import ScreeningResult, SubmitScreening
from kapbook_platform.web.ratelimit import patient_email_in_json, public_write

blp = Blueprint("screenings", __name__, url_prefix="/api/eligibility/v1", description="Submit a screening")


@blp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _answers_signal_crisis() -> bool:
    """Over a rate limit, answers that signal a crisis are still decided: the patient sees the crisis resources
    and on-call is alerted (reminders collapses a burst of alerts into one), so help is never refused."""
    body = request.get_json(silent=True)
    return isinstance(body, dict) and container().screenings.would_be_crisis(body.get("answers"))


@blp.route("/screenings")
class Screenings(MethodView):
    @public_write(blp, scope="screening", email=patient_email_in_json, spare=_answers_signal_crisis)
    @blp.arguments(ScreeningRequestSchema)
    @blp.response(201, ScreeningResultSchema)
    @blp.alt_response(422, description="Invalid request; answer errors are keyed by link id (nothing is stored)")
    def post(self, body):
        """Submit answers and get the decision (with crisis resources on a crisis outcome)"""
        patient = body["patient"]
        command = SubmitScreening(patient["name"], patient["email"].lower(), body["answers"])
        return _view(container().screenings.submit(command))


def _view(result: ScreeningResult) -> dict[str, Any]:
    decision = result.decision
    view = {
        "id": result.screening_id,
        "outcome": decision.outcome.value,
        "reasons": [reason.to_dict() for reason in decision.reasons],
        "scores": decision.scores.to_dict(),
        "treatment_resistant": decision.treatment_resistant,
        "ruleset_version": decision.ruleset_version,
        "questionnaire_version": decision.questionnaire_version,
        "submitted_at": result.submitted_at,
        "valid_until": result.valid_until,
    }
    if decision.is_crisis:
        view["crisis_resources"] = [resource.to_dict() for resource in result.crisis_resources]
    return view
