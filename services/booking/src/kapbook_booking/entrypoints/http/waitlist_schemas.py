"""Answers of the waitlist routes (the join request is a shared contract: kapbook_platform.contracts.http)."""
from marshmallow import Schema, fields, validate

from kapbook_booking.entrypoints.http.schemas import PatientViewSchema
from kapbook_platform.contracts.schemas import StrictSchema


class WaitlistWindowViewSchema(Schema):
    weekdays = fields.List(fields.String(), required=True, metadata={"description": "mon … sun"})
    start = fields.String(required=True, metadata={"description": "HH:MM, the patient's local time"})
    end = fields.String(required=True, metadata={"description": "HH:MM; 00:00 means until midnight"})


class WaitlistOfferSummarySchema(Schema):
    id = fields.String(required=True)
    entry_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, claimed, declined, expired or withdrawn"})
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    clinician_id = fields.String(required=True)
    clinician_name = fields.String(required=True)
    location_id = fields.String(required=True)
    offered_by = fields.String(required=True, metadata={"description": "waitlist (automatic) or staff:<id>"})
    created_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    booking_id = fields.String(allow_none=True)


class WaitlistEntrySchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "waiting, booked, left or expired"})
    appointment_type = fields.String(required=True)
    clinician_id = fields.String(allow_none=True)
    location_id = fields.String(allow_none=True)
    patient = fields.Nested(PatientViewSchema, required=True)
    windows = fields.List(fields.Nested(WaitlistWindowViewSchema), required=True)
    windows_text = fields.List(fields.String(), required=True, metadata={"description": "The windows in words"})
    earliest_date = fields.Date(allow_none=True)
    latest_date = fields.Date(allow_none=True)
    joined_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    created_by = fields.String(required=True)


class WaitlistJoinedSchema(WaitlistEntrySchema):
    leave_url = fields.String(required=True, metadata={"description": "One-click link to leave the waitlist (also emailed)"})


class StaffWaitlistEntrySchema(WaitlistEntrySchema):
    offers = fields.List(fields.Nested(WaitlistOfferSummarySchema), required=True, metadata={"description": "Offer history"})


class StaffWaitlistSchema(Schema):
    appointment_type = fields.String(required=True)
    appointment_type_name = fields.String(required=True)
    entries = fields.List(fields.Nested(StaffWaitlistEntrySchema), required=True)


class StaffWaitlistArgsSchema(StrictSchema):
    appointment_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    include_closed = fields.Boolean(load_default=False)


class StaffOfferRequestSchema(StrictSchema):
    start = fields.AwareDateTime(required=True)
    clinician_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class WaitlistOfferSchema(WaitlistOfferSummarySchema):
    appointment_type = fields.String(required=True)
    appointment_type_name = fields.String(required=True)
    requires_driver = fields.Boolean(required=True)
    location_name = fields.String(required=True)
    location_timezone = fields.String(required=True)
    patient_name = fields.String(required=True)
    patient_timezone = fields.String(required=True)


class ClaimOfferSchema(StrictSchema):
    driver_confirmed = fields.Boolean(load_default=False)
