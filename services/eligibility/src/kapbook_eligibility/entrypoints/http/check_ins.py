"""Check-ins between doses: the patient's page behind an emailed link, and the staff trend and follow-up API."""
from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from kapbook_eligibility.domain import Questionnaire
from kapbook_eligibility.entrypoints.http.reviews import REVIEWER_ROLES
from kapbook_eligibility.entrypoints.wiring import container, current_staff
from kapbook_eligibility.service_layer.errors import AnswersRejected, CheckInAlreadyDone, CheckInLinkInvalid
from kapbook_platform.staff.scopes import REVIEWS
from kapbook_platform.staff.web import audited_address, require_staff

blp = Blueprint("check_ins", __name__, url_prefix="/api/eligibility/v1", template_folder="templates",
                description="Check-ins between doses (patient page by emailed link; trends for staff)")

HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}
HEADINGS = {"form": "How have you been?", "done": "Thank you", "already": "Already received",
            "invalid": "This link is not valid"}


class CheckInQuerySchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CheckInPendingQuerySchema(Schema):
    status = fields.String(load_default="pending", validate=validate.OneOf(["pending"]))


class TrendPointSchema(Schema):
    id = fields.String(required=True)
    source = fields.String(required=True, validate=validate.OneOf(["screening", "check_in"]))
    taken_at = fields.AwareDateTime(required=True)
    phq9 = fields.Integer(required=True, metadata={"description": "PHQ-9 total (0-27)"})
    gad7 = fields.Integer(required=True, metadata={"description": "GAD-7 total (0-21)"})
    phq9_band = fields.String(required=True)
    gad7_band = fields.String(required=True)
    alert = fields.Boolean(required=True, metadata={"description": "The check-in raised an alert"})


class TrendCheckInSchema(Schema):
    id = fields.String(required=True)
    booking_id = fields.String(required=True)
    occasion = fields.String(required=True)
    session_start = fields.AwareDateTime(required=True)
    status = fields.String(required=True, metadata={"description": "decided, pending_review or reviewed"})
    submitted_at = fields.AwareDateTime(required=True)
    reviewed_at = fields.AwareDateTime(allow_none=True)
    reviewer_name = fields.String(allow_none=True)


class CourseOutcomeSchema(Schema):
    baseline_id = fields.String(allow_none=True)
    latest_id = fields.String(allow_none=True)
    phq9_change_percent = fields.Float(allow_none=True)
    gad7_change_percent = fields.Float(allow_none=True)
    phq9_response = fields.Boolean(required=True, metadata={"description": "PHQ-9 at least 50 % below baseline"})
    gad7_response = fields.Boolean(required=True)
    remission = fields.Boolean(required=True, metadata={"description": "Latest PHQ-9 below 5"})


class TrendPatientSchema(Schema):
    name = fields.String(required=True)
    email = fields.String(required=True)


class TrendSchema(Schema):
    patient = fields.Nested(TrendPatientSchema, required=True)
    points = fields.List(fields.Nested(TrendPointSchema), required=True)
    check_ins = fields.List(fields.Nested(TrendCheckInSchema), required=True)
    outcome = fields.Nested(CourseOutcomeSchema, required=True)


class PendingCheckInSchema(Schema):
    id = fields.String(required=True)
    patient_name = fields.String(required=True)
    patient_email = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)


class CheckInReviewedSchema(Schema):
    check_in_id = fields.String(required=True)
    reviewer_name = fields.String(required=True)
    reviewed_at = fields.AwareDateTime(required=True)


@blp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/check-in")
class CheckInPage(MethodView):
    """The page an emailed check-in link opens. The token is the only credential: no sign-in."""

    @blp.arguments(CheckInQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "The check-in form", "content": HTML_PAGE},
                        "400": {"description": "The link is not valid or has expired", "content": HTML_PAGE},
                        "409": {"description": "This check-in was received already", "content": HTML_PAGE}})
    def get(self, query):
        """Show the check-in form (PHQ-9, GAD-7 and, per clinic setting, the C-SSRS screener)"""
        service = container().check_ins
        try:
            form = service.open(query["token"])
        except CheckInLinkInvalid:
            return _page("invalid", 400)
        except CheckInAlreadyDone:
            return _page("already", 409)
        return _page("form", 200, name=form.link.patient_name, questionnaire=form.questionnaire)

    @blp.arguments(CheckInQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "Received (crisis resources at once on an alert)", "content": HTML_PAGE},
                        "400": {"description": "The link is not valid or has expired", "content": HTML_PAGE},
                        "409": {"description": "This check-in was received already", "content": HTML_PAGE},
                        "422": {"description": "Answers missing or invalid: the form again, marked (HTML); "
                                               "no token at all: the JSON error",
                                "content": HTML_PAGE | {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}})
    def post(self, query):
        """Send the check-in answers (an HTML form post)"""
        service = container().check_ins
        questionnaire = service.questionnaire()
        try:
            received = service.submit(query["token"], form_answers(questionnaire, request.form))
        except CheckInLinkInvalid:
            return _page("invalid", 400)
        except CheckInAlreadyDone:
            return _page("already", 409)
        except AnswersRejected as rejected:
            link = service.open(query["token"]).link
            return _page("form", 422, name=link.patient_name, questionnaire=questionnaire,
                         errors={key: ["Please choose an answer."] for key in rejected.errors or {}})
        return _page("done", 200, crisis_resources=received.crisis_resources)


@blp.route("/trends/<string:record_id>")
class Trend(MethodView):
    @require_staff(*REVIEWER_ROLES, scope=REVIEWS)
    @blp.response(200, TrendSchema)
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    @blp.alt_response(404, description="No such screening or check-in")
    def get(self, record_id):
        """A patient's PHQ-9 and GAD-7 totals over time, by any of their screenings or check-ins (audited)"""
        return container().check_ins.trend(record_id, current_staff(), audited_address())


@blp.route("/check-ins")
class PendingCheckIns(MethodView):
    @require_staff(*REVIEWER_ROLES, scope=REVIEWS)
    @blp.arguments(CheckInPendingQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, PendingCheckInSchema(many=True))
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    def get(self, query):
        """Check-ins whose alert waits for a clinician's follow-up, oldest first (no scores)"""
        return container().check_ins.pending()


@blp.route("/check-ins/<string:check_in_id>/review")
class CheckInReview(MethodView):
    @require_staff(*REVIEWER_ROLES, scope=REVIEWS)
    @blp.response(201, CheckInReviewedSchema)
    @blp.alt_response(401, description="No valid staff token")
    @blp.alt_response(403, description="Not a clinician or admin")
    @blp.alt_response(404, description="No such check-in")
    @blp.alt_response(409, description="Needs no follow-up, or has had it (already_reviewed)")
    def post(self, check_in_id):
        """Record that a clinician followed up a check-in's alert (closes its review item)"""
        return container().check_ins.mark_reviewed(check_in_id, current_staff())


def form_answers(questionnaire: Questionnaire, form: Any) -> dict[str, Any]:
    """The form's radio buttons as answers: option codes as the questionnaire types them, yes/no as booleans."""
    answers: dict[str, Any] = {}
    for item in questionnaire.items:
        raw = form.get(item.link_id)
        if raw is None:
            continue
        if item.answer_type.value == "boolean":
            answers[item.link_id] = {"true": True, "false": False}.get(raw, raw)
        else:
            codes = {str(code): code for code in item.option_codes}
            answers[item.link_id] = codes.get(raw, raw)
    return answers


def _page(state: str, status: int, **context: Any) -> Response:
    context.setdefault("errors", {})
    body = render_template("check_in.html", state=state, heading=HEADINGS[state], form=request.form, **context)
    response = Response(body, status=status, mimetype="text/html")
    # The token is a credential: keep the page out of caches and other sites' Referer headers.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    return response
