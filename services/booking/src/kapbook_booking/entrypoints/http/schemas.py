"""Response and query schemas used only by the booking service's own routes."""
from marshmallow import Schema, fields

from kapbook_platform.contracts.http import PatientSchema


class PatientViewSchema(PatientSchema):
    class Meta:
        unknown = "exclude"


class BookingSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    sequence = fields.Integer(required=True)
    appointment_type = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    clinician_id = fields.String(required=True)
    clinician_name = fields.String(required=True)
    location_id = fields.String(required=True)
    location_name = fields.String(required=True)
    room_id = fields.String(allow_none=True)
    patient = fields.Nested(PatientViewSchema, required=True)
    manage_url = fields.String(required=True)


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = "exclude"

    idempotency_key = fields.String(
        data_key="Idempotency-Key", load_default=None, metadata={"description": "Repeat a request safely"}
    )
