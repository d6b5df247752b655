"""Request and response bodies of the staff schedule routes: working hours, date overrides, time off."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kapbook_booking.entrypoints.http.staff_schema_fields import HH_MM, ID, ChangeSchema, ClockTime
from kapbook_platform.contracts.schemas import StrictSchema


class WorkingHoursSchema(Schema):
    id = fields.String(required=True)
    clinician_id = fields.String(required=True)
    location_id = fields.String(required=True)
    weekday = fields.Integer(required=True, metadata={"description": "0 = Monday ... 6 = Sunday"})
    start_time = fields.Time(format=HH_MM, required=True)
    end_time = fields.Time(format=HH_MM, required=True)
    effective_from = fields.Date(allow_none=True)
    effective_until = fields.Date(allow_none=True)


class WorkingHoursRequestSchema(StrictSchema):
    location_id = fields.String(required=True, validate=ID)
    weekday = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=6),
                             metadata={"description": "0 = Monday ... 6 = Sunday"})
    start_time = ClockTime(required=True, metadata={"description": "Local wall-clock time at the location, HH:MM"})
    end_time = ClockTime(required=True, metadata={"description": "Local, HH:MM, after start_time the same day"})
    effective_from = fields.Date(load_default=None, allow_none=True, metadata={"description": "First local date it applies"})
    effective_until = fields.Date(load_default=None, allow_none=True, metadata={"description": "Last local date it applies"})


class WorkingHoursChangeSchema(ChangeSchema, WorkingHoursRequestSchema):
    pass


class ScheduleOverrideSchema(Schema):
    id = fields.String(required=True)
    clinician_id = fields.String(required=True)
    location_id = fields.String(required=True)
    date = fields.Date(required=True)
    start_time = fields.Time(format=HH_MM, allow_none=True)
    end_time = fields.Time(format=HH_MM, allow_none=True)
    closed = fields.Boolean(required=True, metadata={"description": "True when the day is closed at this location"})


class ScheduleOverrideRequestSchema(StrictSchema):
    location_id = fields.String(required=True, validate=ID)
    date = fields.Date(required=True, metadata={"description": "Local date at the location"})
    start_time = ClockTime(load_default=None, allow_none=True,
                           metadata={"description": "Replacement hours; leave both times out to close the day"})
    end_time = ClockTime(load_default=None, allow_none=True)


class OverrideQuerySchema(StrictSchema):
    since = fields.Date(load_default=None, metadata={"description": "Only overrides on or after this date"})


class TimeOffSchema(Schema):
    id = fields.String(required=True)
    clinician_id = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    reason = fields.String(allow_none=True)


# --- time off over booked appointments (clin): the answer to adding time off warns ---------------


class OverlappingBookingSchema(Schema):
    booking_id = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    patient_first_name = fields.String(allow_none=True, metadata={"description": "First name only; no health data"})


class TimeOffAddedSchema(TimeOffSchema):
    overlapping_bookings = fields.List(fields.Nested(OverlappingBookingSchema), required=True, metadata={
        "description": "Booked or arrived appointments in this time off: it is added anyway, reschedule or cancel them"})
    warning = fields.String(allow_none=True, metadata={"description": "Says how many appointments fall in it; null when none"})


class TimeOffRequestSchema(StrictSchema):
    start = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    end = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset, after start"})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                           metadata={"description": "Staff-facing; keep health details out"})


class TimeOffQuerySchema(StrictSchema):
    since = fields.AwareDateTime(load_default=None, metadata={"description": "Only time off ending after this (default: now)"})
