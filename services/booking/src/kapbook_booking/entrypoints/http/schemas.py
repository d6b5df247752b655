"""Request and response schemas used only by the booking service's own routes."""
from marshmallow import Schema, fields, validate

from kapbook_platform.contracts.http import PatientSchema, TimeZoneName
from kapbook_platform.contracts.schemas import StrictSchema


class PatientViewSchema(PatientSchema):
    class Meta:
        unknown = "exclude"


class SeriesRefSchema(Schema):
    series_id = fields.String(required=True)
    protocol_name = fields.String(required=True)
    position = fields.Integer(required=True, metadata={"description": "1 for the first session"})
    size = fields.Integer(required=True, metadata={"description": "Sessions in the series"})


class BookingSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "FHIR Appointment status"})
    sequence = fields.Integer(required=True, metadata={"description": "Raised on every change of time or status"})
    appointment_type = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    clinician_id = fields.String(required=True)
    clinician_name = fields.String(required=True)
    location_id = fields.String(required=True)
    location_name = fields.String(required=True)
    room_id = fields.String(allow_none=True)
    patient = fields.Nested(PatientViewSchema, required=True)
    manage_url = fields.String(required=True, allow_none=True, metadata={
        "description": "The patient's manage link, only in answers that just issued one (links are stored hashed)"})
    join_url = fields.String(allow_none=True, metadata={"description": "Telehealth: where the patient joins the video call"})
    cancel_notice_hours = fields.Integer(required=True)
    reschedule_notice_hours = fields.Integer(required=True)
    series = fields.Nested(SeriesRefSchema, allow_none=True,
                           metadata={"description": "The treatment series this session belongs to; null when it stands alone"})


# --- the manage-link answers (issue 14 finding 4) -------------------------------------------------
# Whoever holds a manage link (a forwarded email, a shared screen) sees the appointment and the
# patient's name, never their email or phone.
class ManagePatientSchema(Schema):
    name = fields.String(required=True)
    timezone = fields.String(allow_none=True)


class ManageBookingSchema(BookingSchema):
    patient = fields.Nested(ManagePatientSchema, required=True)


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = "exclude"

    idempotency_key = fields.String(
        data_key="Idempotency-Key", load_default=None, validate=validate.Length(min=1, max=200),
        metadata={"description": "Repeat a request safely: the same key and body return the same booking"},
    )


class AvailabilityArgsSchema(StrictSchema):
    appointment_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    start = fields.Date(required=True, metadata={"description": "First day, in `timezone`"})
    end = fields.Date(required=True, metadata={"description": "Last day (inclusive), in `timezone`"})
    timezone = TimeZoneName(required=True, metadata={"description": "IANA zone of the answer"})
    clinician_id = fields.String(validate=validate.Length(max=36))
    location_id = fields.String(validate=validate.Length(max=36))


class SlotSchema(Schema):
    start = fields.String(required=True, metadata={"description": "ISO 8601 with the requested zone's offset"})
    end = fields.String(required=True)
    clinician_id = fields.String(required=True)
    clinician_name = fields.String(required=True)
    location_id = fields.String(required=True)
    room_id = fields.String(allow_none=True)


class AvailabilitySchema(Schema):
    appointment_type = fields.String(required=True)
    timezone = fields.String(required=True)
    slots = fields.List(fields.Nested(SlotSchema), required=True)


class HoldRequestSchema(StrictSchema):
    appointment_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    start = fields.AwareDateTime(required=True)
    clinician_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class HoldSchema(Schema):
    id = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    clinician_id = fields.String(required=True)
    location_id = fields.String(required=True)
    room_id = fields.String(allow_none=True)
    expires_at = fields.AwareDateTime(required=True)


class RescheduleSchema(StrictSchema):
    start = fields.AwareDateTime(required=True)


class StaffRescheduleSchema(RescheduleSchema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class StaffCancelSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))
