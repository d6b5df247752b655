"""Request and response bodies of the eligibility API (the booking lookup's body is shared in contracts)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kapbook_platform.contracts.schemas import StrictNumber, StrictSchema, no_control_characters


# --- questionnaire (our JSON form) -------------------------------------------------------------


class CodingSchema(Schema):
    system = fields.String(required=True)
    code = fields.String(required=True)
    display = fields.String(allow_none=True)


class AnswerOptionSchema(Schema):
    code = fields.Raw(required=True, metadata={"description": "The value to send as the answer (integer or string)"})
    label = fields.String(required=True)


class EnableWhenSchema(Schema):
    question = fields.String(required=True, metadata={"description": "Link id of the controlling question"})
    answer = fields.Raw(required=True, metadata={"description": "Ask this item only when that question has this answer"})


class ItemSchema(Schema):
    link_id = fields.String(required=True)
    text = fields.String(required=True)
    type = fields.String(attribute="answer_type", required=True, metadata={"description": "date, integer, decimal, boolean or choice"})
    required = fields.Boolean(required=True, metadata={"description": "Must be answered whenever it is asked"})
    repeats = fields.Boolean(required=True, metadata={"description": "The answer is a list of option codes"})
    allow_empty = fields.Boolean(required=True, metadata={"description": "A repeating answer may be an empty list"})
    options = fields.List(fields.Nested(AnswerOptionSchema), required=True)
    enable_when = fields.List(fields.Nested(EnableWhenSchema), required=True, metadata={"description": "All must hold"})
    min = fields.Raw(attribute="min_value", allow_none=True)
    max = fields.Raw(attribute="max_value", allow_none=True)
    min_date = fields.String(allow_none=True)
    unit = fields.Nested(CodingSchema, allow_none=True)


class SectionSchema(Schema):
    link_id = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String(allow_none=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)


class QuestionnaireSchema(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.String(required=True)
    date = fields.String(required=True)
    publisher = fields.String(required=True)
    sections = fields.List(fields.Nested(SectionSchema), required=True)


# --- screenings ------------------------------------------------------------------------------


class PatientSchema(StrictSchema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_control_characters])
    email = fields.Email(required=True, validate=[validate.Length(max=320), no_control_characters.check])


class ScreeningRequestSchema(StrictSchema):
    patient = fields.Nested(PatientSchema, required=True)
    answers = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "Answers keyed by link id (see the questionnaire); checked item by item"},
    )


class ReasonSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable reason"})
    outcome = fields.String(required=True, metadata={"description": "The outcome this reason leads to on its own"})
    message = fields.String(required=True)


class Phq9ScoreSchema(Schema):
    total = fields.Integer(required=True)
    band = fields.String(required=True)
    item9 = fields.Integer(required=True)


class Gad7ScoreSchema(Schema):
    total = fields.Integer(required=True)
    band = fields.String(required=True)


class ScoresSchema(Schema):
    phq9 = fields.Nested(Phq9ScoreSchema, required=True)
    gad7 = fields.Nested(Gad7ScoreSchema, required=True)
    cssrs_risk = fields.String(required=True, metadata={"description": "none, low, moderate or high"})


class CrisisResourceSchema(Schema):
    name = fields.String(required=True)
    instructions = fields.String(required=True)
    phone = fields.String()
    sms = fields.String()
    url = fields.String()


class ScreeningResultSchema(Schema):
    id = fields.String(required=True)
    outcome = fields.String(required=True, metadata={"description": "eligible, needs_review, ineligible or crisis"})
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    scores = fields.Nested(ScoresSchema, required=True)
    treatment_resistant = fields.Boolean(required=True)
    ruleset_version = fields.String(required=True)
    questionnaire_version = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)
    crisis_resources = fields.List(
        fields.Nested(CrisisResourceSchema), metadata={"description": "Only on a crisis outcome: show these at once"}
    )


# --- clinician review ------------------------------------------------------------------------


class ReviewQuerySchema(StrictSchema):
    status = fields.String(load_default="pending", validate=validate.OneOf(["pending", "reviewed"]))


class PatientViewSchema(Schema):
    name = fields.String(required=True)
    email = fields.String(required=True)


class ReviewSummarySchema(Schema):
    decision = fields.String(required=True)
    reviewer_name = fields.String(required=True)
    reviewed_at = fields.AwareDateTime(required=True)


class ReviewDetailSchema(ReviewSummarySchema):
    note = fields.String(allow_none=True)


class ScreeningSummarySchema(Schema):
    id = fields.String(required=True)
    patient = fields.Nested(PatientViewSchema, required=True)
    outcome = fields.String(required=True)
    reason_codes = fields.List(fields.String(), required=True)
    status = fields.String(required=True, metadata={"description": "decided, pending_review or reviewed"})
    submitted_at = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)
    review = fields.Nested(ReviewSummarySchema, allow_none=True)


class ScreeningDetailSchema(ScreeningSummarySchema):
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    scores = fields.Nested(ScoresSchema, required=True)
    treatment_resistant = fields.Boolean(required=True)
    failed_trials = fields.Integer(required=True)
    ruleset_version = fields.String(required=True)
    questionnaire_version = fields.String(required=True)
    answers = fields.Dict(required=True, metadata={"description": "The answers as submitted, keyed by link id"})
    review = fields.Nested(ReviewDetailSchema, allow_none=True)


class ReviewRequestSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approved", "declined"]))
    note = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ReviewResultSchema(Schema):
    screening_id = fields.String(required=True)
    decision = fields.String(required=True)
    reviewer_name = fields.String(required=True)
    reviewed_at = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)


# --- rule sets -------------------------------------------------------------------------------


class RuleSettingsSchema(StrictSchema):
    """Mirrors the domain's RuleSettings; the domain checks the ranges."""

    minimum_age = fields.Integer(required=True, strict=True)
    bp_systolic_review_at = fields.Integer(required=True, strict=True)
    bp_diastolic_review_at = fields.Integer(required=True, strict=True)
    benzodiazepine_review_mg = StrictNumber(required=True)
    screening_valid_days = fields.Integer(required=True, strict=True)
    treatment_resistant_min_trials = fields.Integer(required=True, strict=True)


class RuleSetRequestSchema(StrictSchema):
    version = fields.String(required=True, validate=validate.Length(min=1, max=64))
    settings = fields.Nested(RuleSettingsSchema, required=True)


class RuleSetSchema(Schema):
    version = fields.String(required=True)
    settings = fields.Nested(RuleSettingsSchema, required=True)
    created_by = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    active = fields.Boolean(required=True)
