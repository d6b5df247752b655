"""The questionnaire, as our JSON form and as a FHIR R4 Questionnaire."""
from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_eligibility.domain import load_questionnaire, to_fhir_questionnaire
from kapbook_eligibility.entrypoints.http.schemas import QuestionnaireSchema

blp = Blueprint("questionnaire", __name__, url_prefix="/api/eligibility/v1", description="The screening questionnaire")

FHIR_JSON = "application/fhir+json; fhirVersion=4.0"


@blp.route("/questionnaire")
class CurrentQuestionnaire(MethodView):
    @blp.response(200, QuestionnaireSchema)
    def get(self):
        """The current questionnaire: items with link ids, answer types, options and skip logic"""
        return load_questionnaire()


@blp.route("/questionnaire/fhir")
class FhirQuestionnaire(MethodView):
    @blp.response(200, description="A FHIR R4 Questionnaire resource", content_type=FHIR_JSON)
    def get(self):
        """The current questionnaire as a FHIR R4 Questionnaire"""
        response = jsonify(to_fhir_questionnaire(load_questionnaire()))
        response.content_type = FHIR_JSON
        return response
