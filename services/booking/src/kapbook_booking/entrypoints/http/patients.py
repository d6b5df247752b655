"""The widget's side of returning patients: ask for a sign-in link that returns to the widget, turn a
/my session into a widget proof (same site only), and read what a proof stands for.

The widget is embedded on clinics' own websites and calls this API cross-origin without cookies,
so a patient proves their email with the emailed link; the link returns them to the widget's page
with a short-lived proof in the URL fragment. Bookings then carry ``patient_proof``.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from kapbook_booking.entrypoints.web.patient_access import LINK_SENT, session_id, sign_in_refused_for
from kapbook_booking.entrypoints.wiring import container
from kapbook_platform.contracts.http import PatientSchema
from kapbook_platform.contracts.schemas import StrictSchema, no_control_characters
from kapbook_platform.web.errors import error_response
from kapbook_platform.web.ratelimit import public_write

blp = Blueprint("patients", __name__, url_prefix="/api/booking/v1/patient",
                description="Returning patients: sign-in links, proofs of a verified email")


class SignInLinkRequestSchema(StrictSchema):
    email = fields.Email(required=True, validate=[validate.Length(max=320), no_control_characters.check])
    return_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                              metadata={"description": "The widget's page (an origin allowed to embed it)"})


class SignInLinkAnswerSchema(StrictSchema):
    message = fields.String(required=True)


class HandoffSchema(StrictSchema):
    handoff = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100),
                            metadata={"description": "The one-time code the sign-in link sent back to the widget's page"})


class ProofSchema(StrictSchema):
    proof = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ScreeningStatusSchema(StrictSchema):
    state = fields.String(required=True, validate=validate.OneOf(("valid", "expired", "none")))
    decided_at = fields.AwareDateTime(allow_none=True)
    valid_until = fields.AwareDateTime(allow_none=True)


class PatientStatusSchema(StrictSchema):
    patient = fields.Nested(PatientSchema, required=True)
    screening = fields.Nested(ScreeningStatusSchema, required=True)


@blp.route("/sign-in-links")
class SignInLinks(MethodView):
    @public_write(blp)
    @blp.arguments(SignInLinkRequestSchema)
    @blp.response(202, SignInLinkAnswerSchema)
    def post(self, body):
        """Email a one-time sign-in link; the answer is the same whether or not the address is known"""
        wait = sign_in_refused_for()
        if wait is not None:
            return error_response(429, "rate_limited", "Too many sign-in links asked for; please wait and try again.",
                                  headers={"Retry-After": str(wait)})
        container().patients.request_sign_in_link(body["email"], body["return_to"])
        return {"message": LINK_SENT}


@blp.route("/proof")
class ProofFromSession(MethodView):
    @public_write(blp)
    @blp.arguments(HandoffSchema)
    @blp.response(201, ProofSchema)
    @blp.alt_response(403, description="A used or expired hand-off code (patient_proof_invalid), or no live patient "
                                       "session (not_signed_in)")
    def post(self, body):
        """A widget proof: for the one-time hand-off code of a sign-in link, else from the /my session cookie
        (which only a page on Kapbook's own site sends)"""
        if body.get("handoff"):
            return {"proof": container().patients.exchange_handoff(body["handoff"])}
        return {"proof": container().patients.widget_proof_for(session_id())}


@blp.route("/status")
class ProofStatus(MethodView):
    @public_write(blp)
    @blp.arguments(ProofSchema)
    @blp.response(200, PatientStatusSchema)
    @blp.alt_response(403, description="The proof is unknown or expired (patient_proof_invalid)")
    def post(self, body):
        """Who a proof stands for and whether their screening is valid (a flag and dates, never answers)"""
        patient, status = container().patients.widget_status(body["proof"])
        return {"patient": patient, "screening": {"state": status.state, "decided_at": status.decided_at,
                                                  "valid_until": status.valid_until}}
