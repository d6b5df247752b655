"""Request and response bodies of the protocol and series routes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kapbook_booking.entrypoints.http.schemas import BookingSchema, ManageBookingSchema
from kapbook_booking.entrypoints.http.staff_catalog_schemas import TYPE_CODE
from kapbook_booking.entrypoints.http.staff_schema_fields import NAME, ChangeSchema
from kapbook_platform.contracts.http import PatientSchema, TimeZoneName
from kapbook_platform.contracts.schemas import JsonBoolean, StrictSchema

PROTOCOL_CODE = TYPE_CODE  # same shape as appointment type codes: iv-induction


def count(low: int, high: int, description: str, **extra) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=low, max=high), metadata={"description": description}, **extra)


class ProtocolSchema(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "Stable public code, e.g. iv-induction"})
    name = fields.String(required=True)
    appointment_type = fields.String(required=True, metadata={"description": "Code of the appointment type every session is"})
    sessions = fields.Integer(required=True, metadata={"description": "How many sessions the course has"})
    min_gap_hours = fields.Integer(required=True, metadata={"description": "Least time from one session's start to the next's"})
    max_window_days = fields.Integer(required=True, metadata={"description": "Every session starts within this many days of the first"})
    max_per_week = fields.Integer(allow_none=True, metadata={"description": "Most sessions per calendar week (Monday-Sunday) in the clinic's zone; null: no limit"})
    requires_preparation = fields.Boolean(required=True, metadata={"description": "A preparation session must be booked before the first session"})
    integration_within_days = fields.Integer(allow_none=True, metadata={"description": "Offer an integration session within this many days after each dose; null: none"})
    active = fields.Boolean(required=True)


class ProtocolQuerySchema(StrictSchema):
    appointment_type = fields.String(validate=validate.Length(min=1, max=64),
                                     metadata={"description": "Only the protocols of this appointment type (its code)"})


class ProtocolRequestSchema(StrictSchema):
    code = fields.String(required=True, validate=PROTOCOL_CODE)
    name = fields.String(required=True, validate=NAME)
    appointment_type = fields.String(required=True, validate=TYPE_CODE, metadata={"description": "Code of an existing appointment type"})
    sessions = count(1, 60, "Number of sessions", required=True)
    min_gap_hours = count(0, 24 * 90, "Least hours between session starts", load_default=24)
    max_window_days = count(1, 365, "All sessions within this many days of the first", required=True)
    max_per_week = count(1, 7, "Most sessions per calendar week; null for no limit", load_default=None, allow_none=True)
    requires_preparation = JsonBoolean(load_default=False)
    integration_within_days = count(1, 90, "Offer integration within N days after each dose", load_default=None, allow_none=True)
    active = JsonBoolean(load_default=True)


class ProtocolChangeSchema(ChangeSchema, ProtocolRequestSchema):
    pass


class ProposalArgsSchema(StrictSchema):
    protocol = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"description": "Protocol code"})
    start = fields.AwareDateTime(required=True, metadata={"description": "Session 1's start, ISO 8601 with offset"})
    timezone = TimeZoneName(required=True, metadata={"description": "IANA zone of the answer's times"})
    clinician_id = fields.String(validate=validate.Length(max=36), metadata={"description": "Only this clinician"})


class ProposedSessionSchema(Schema):
    position = fields.Integer(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    clinician_id = fields.String(required=True)
    clinician_name = fields.String(required=True)
    location_id = fields.String(required=True)
    room_id = fields.String(allow_none=True)
    changes = fields.List(fields.String(validate=validate.OneOf(["clinician", "room"])), required=True,
                          metadata={"description": "What differs from session 1: the clinician, the room (chair)"})
    integration_by = fields.AwareDateTime(
        allow_none=True, metadata={"description": "Protocols with integration_within_days: offer an integration session "
                                                  "before this moment; null otherwise"})


class ProposalSchema(Schema):
    protocol = fields.Nested(ProtocolSchema, required=True)
    timezone = fields.String(required=True)
    sessions = fields.List(fields.Nested(ProposedSessionSchema), required=True)
    changes = fields.Integer(required=True, metadata={"description": "Changes of clinician or room across the plan"})


class SeriesSessionRequestSchema(StrictSchema):
    start = fields.AwareDateTime(required=True)
    clinician_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class SeriesRequestSchema(StrictSchema):
    protocol = fields.String(required=True, validate=validate.Length(min=1, max=64))
    timezone = TimeZoneName(required=True, metadata={"description": "The patient's zone, for messages"})
    sessions = fields.List(fields.Nested(SeriesSessionRequestSchema), required=True, validate=validate.Length(min=1, max=60),
                           metadata={"description": "Every session, in order (usually the proposal's)"})
    patient = fields.Nested(PatientSchema, required=True)
    screening_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    patient_proof = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100), metadata={
        "description": "A returning patient's proof from the emailed sign-in link, in place of screening_id"})
    driver_confirmed = JsonBoolean(load_default=False)
    patient_proof = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100),
        metadata={"description": "A returning patient's proof of their verified email (from the emailed sign-in link); "
                                 "a treatment protocol then needs no screening_id while their decision is valid"},
    )
    override_reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=3, max=500),
        metadata={"description": "Staff only: book although the protocol's rules are not kept (audited). Overlaps are still refused"},
    )


class SeriesSchema(Schema):
    id = fields.String(required=True)
    protocol = fields.Nested(ProtocolSchema, required=True)
    status = fields.String(required=True, validate=validate.OneOf(["booked", "partly_cancelled", "cancelled"]))
    created_at = fields.AwareDateTime(required=True)
    sessions = fields.List(fields.Nested(BookingSchema), required=True, metadata={"description": "By position"})


class SeriesCancelSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class ManageSeriesSchema(SeriesSchema):
    """The series behind a manage link: sessions without the patient's email or phone."""
    sessions = fields.List(fields.Nested(ManageBookingSchema), required=True, metadata={"description": "By position"})
