"""Request and response bodies of the staff calendar route."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kapbook_booking.entrypoints.http.staff_schema_fields import ID
from kapbook_platform.contracts.http import TimeZoneName
from kapbook_platform.contracts.schemas import StrictSchema


class CalendarQuerySchema(StrictSchema):
    view = fields.String(load_default="day", validate=validate.OneOf(["day", "week"]),
                         metadata={"description": "day, or the ISO week (Monday to Sunday) containing date"})
    day = fields.Date(required=True, data_key="date", metadata={"description": "A local date in the requested zone"})
    timezone = TimeZoneName(required=True, metadata={"description": "IANA zone for the range and all times"})
    clinician_id = fields.String(load_default=None, validate=ID)
    room_id = fields.String(load_default=None, validate=ID)
    include_cancelled = fields.Boolean(load_default=False)

    @validates_schema
    def one_subject(self, data, **kwargs) -> None:
        if (data.get("clinician_id") is None) == (data.get("room_id") is None):
            raise ValidationError("Give exactly one of clinician_id or room_id.", "clinician_id")


class CodeNameSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)


class NamedSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String()


class CalendarBookingSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "held, booked, arrived, fulfilled, cancelled or noshow"})
    sequence = fields.Integer(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    blocked_start = fields.AwareDateTime(required=True, metadata={"description": "start minus the buffer before"})
    blocked_end = fields.AwareDateTime(required=True, metadata={"description": "end plus the buffer after"})
    hold_expires_at = fields.AwareDateTime(allow_none=True)
    appointment_type = fields.Nested(CodeNameSchema, required=True)
    clinician = fields.Nested(NamedSchema, required=True)
    location = fields.Nested(NamedSchema, required=True)
    room = fields.Nested(NamedSchema, allow_none=True)
    patient_name = fields.String(allow_none=True)


class CalendarTimeOffSchema(Schema):
    id = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    reason = fields.String(allow_none=True)


class CalendarBusySchema(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)


class WorkingIntervalSchema(Schema):
    location_id = fields.String(required=True)
    location_name = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)


class CalendarClinicianSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    active = fields.Boolean(required=True)


class CalendarRoomSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    active = fields.Boolean(required=True)
    location_id = fields.String(required=True)
    location_name = fields.String(required=True)


class CalendarSchema(Schema):
    view = fields.String(required=True)
    day = fields.Date(required=True, data_key="date")
    timezone = fields.String(required=True)
    start = fields.AwareDateTime(required=True, metadata={"description": "Local midnight starting the range"})
    end = fields.AwareDateTime(required=True, metadata={"description": "Local midnight ending it (exclusive)"})
    clinician = fields.Nested(CalendarClinicianSchema, allow_none=True)
    room = fields.Nested(CalendarRoomSchema, allow_none=True)
    bookings = fields.List(fields.Nested(CalendarBookingSchema), required=True)
    time_off = fields.List(fields.Nested(CalendarTimeOffSchema), required=True)
    calendar_busy = fields.List(fields.Nested(CalendarBusySchema), required=True, metadata={
        "description": "Busy times synced from the clinician's own connected calendars (times only)"})
    working_intervals = fields.List(fields.Nested(WorkingIntervalSchema), required=True,
                                    metadata={"description": "Clipped to the range"})
