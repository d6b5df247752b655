"""Request and response bodies of the staff routes: catalogue, schedules and calendar."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kapbook_booking.service_layer.catalog import APPOINTMENT_CATEGORIES, CLINICIAN_ROLES, MODALITIES
from kapbook_platform.contracts.http import JsonBoolean, RequestSchema, TimeZoneName

MINUTES_PER_DAY = 24 * 60
ROOM_KIND = validate.Regexp(r"^[a-z][a-z0-9_]{0,29}$", error="Lower-case letters, digits and underscores, e.g. infusion_chair.")
TYPE_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", error="Lower-case letters, digits and hyphens, e.g. iv-infusion.")
NAME = validate.Length(min=1, max=200)
ID = validate.Length(min=1, max=36)
HH_MM = "%H:%M"
HH_MM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class ClockTime(fields.Time):
    """A local time of day as HH:MM, 24-hour, and only that (``%H:%M`` alone also takes "9:5")."""

    def __init__(self, **kwargs) -> None:
        metadata = {"pattern": HH_MM_PATTERN} | kwargs.pop("metadata", {})
        super().__init__(format=HH_MM, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.match(HH_MM_PATTERN, value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return super()._deserialize(value, attr, data, **kwargs)


class ChangeSchema(RequestSchema):
    """A PATCH body: any subset of the fields of the request schema it is mixed into."""

    def __init__(self, **kwargs) -> None:
        super().__init__(partial=True, **kwargs)


def minutes(low: int, high: int, description: str, default: int | None = None) -> fields.Integer:
    """A whole number of minutes (JSON integers only) within [low, high]."""
    extra = {"required": True} if default is None else {"load_default": default}
    return fields.Integer(strict=True, validate=validate.Range(min=low, max=high), metadata={"description": description}, **extra)


# --- locations ----------------------------------------------------------------------


class LocationSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True, metadata={"description": "IANA time zone of the location's working hours"})
    address = fields.String(allow_none=True)


class LocationRequestSchema(RequestSchema):
    name = fields.String(required=True, validate=NAME)
    timezone = TimeZoneName(required=True, metadata={"description": "IANA zone, e.g. America/New_York"})
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class LocationChangeSchema(ChangeSchema, LocationRequestSchema):
    pass


# --- rooms and chairs -------------------------------------------------------------------


class RoomSchema(Schema):
    id = fields.String(required=True)
    location_id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "e.g. infusion_chair, dosing_room"})
    active = fields.Boolean(required=True)


class RoomRequestSchema(RequestSchema):
    location_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=ROOM_KIND,
                         metadata={"description": "What it is, e.g. infusion_chair, dosing_room"})
    active = JsonBoolean(load_default=True)


class RoomChangeSchema(ChangeSchema):
    name = fields.String(validate=NAME)
    kind = fields.String(validate=ROOM_KIND)
    active = JsonBoolean(metadata={"description": "Inactive rooms are never offered"})


class RoomQuerySchema(RequestSchema):
    location_id = fields.String(load_default=None, validate=ID)


# --- appointment types ---------------------------------------------------------------------


class AppointmentTypeSchema(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    buffer_before_minutes = fields.Integer(required=True)
    buffer_after_minutes = fields.Integer(required=True)
    min_notice_minutes = fields.Integer(required=True)
    horizon_days = fields.Integer(required=True)
    slot_step_minutes = fields.Integer(required=True)
    modality = fields.String(required=True)
    room_kind = fields.String(allow_none=True)
    requires_eligibility = fields.Boolean(required=True)
    requires_driver = fields.Boolean(required=True)
    cancel_notice_hours = fields.Integer(required=True)
    reschedule_notice_hours = fields.Integer(required=True)
    active = fields.Boolean(required=True)


class AppointmentTypeRequestSchema(RequestSchema):
    code = fields.String(required=True, validate=TYPE_CODE, metadata={"description": "Stable public code the widget books by"})
    name = fields.String(required=True, validate=NAME)
    category = fields.String(
        required=True, validate=validate.OneOf(APPOINTMENT_CATEGORIES),
        metadata={"description": "Drives reminder and preparation plans"},
    )
    duration_minutes = minutes(1, MINUTES_PER_DAY, "Length of the appointment itself")
    buffer_before_minutes = minutes(0, MINUTES_PER_DAY, "Time blocked before (set-up, vitals)", default=0)
    buffer_after_minutes = minutes(0, MINUTES_PER_DAY, "Time blocked after (recovery, cleaning)", default=0)
    min_notice_minutes = minutes(0, 365 * MINUTES_PER_DAY, "How soon it may start after booking", default=120)
    horizon_days = fields.Integer(strict=True, load_default=60, validate=validate.Range(min=1, max=730),
                                  metadata={"description": "How far ahead it may be booked"})
    slot_step_minutes = minutes(1, MINUTES_PER_DAY, "Distance between offered starts", default=15)
    modality = fields.String(required=True, validate=validate.OneOf(MODALITIES))
    room_kind = fields.String(load_default=None, allow_none=True, validate=ROOM_KIND,
                              metadata={"description": "The kind of room or chair it needs; an active one must exist"})
    requires_eligibility = JsonBoolean(load_default=False)
    requires_driver = JsonBoolean(load_default=False)
    cancel_notice_hours = fields.Integer(strict=True, load_default=24, validate=validate.Range(min=0, max=24 * 60))
    reschedule_notice_hours = fields.Integer(strict=True, load_default=24, validate=validate.Range(min=0, max=24 * 60))
    active = JsonBoolean(load_default=True)


class AppointmentTypeChangeSchema(ChangeSchema, AppointmentTypeRequestSchema):
    pass


# --- clinicians -------------------------------------------------------------------------------


class ClinicianSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True)
    role = fields.String(required=True)
    active = fields.Boolean(required=True)
    appointment_types = fields.List(fields.String(), required=True, metadata={"description": "Codes of the types delivered"})
    location_ids = fields.List(fields.String(), required=True, metadata={"description": "Where they have working hours"})


class ClinicianRequestSchema(RequestSchema):
    name = fields.String(required=True, validate=NAME)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    role = fields.String(required=True, validate=validate.OneOf(CLINICIAN_ROLES))
    appointment_types = fields.List(
        fields.String(validate=TYPE_CODE), load_default=list, validate=validate.Length(max=100),
        metadata={"description": "Codes of the appointment types they deliver (replaces the set on update)"},
    )
    active = JsonBoolean(load_default=True, metadata={"description": "Inactive clinicians are never offered"})


class ClinicianChangeSchema(ChangeSchema, ClinicianRequestSchema):
    pass


class CalendarFeedLinkSchema(Schema):
    clinician_id = fields.String(required=True)
    url = fields.String(allow_none=True, metadata={"description": "Secret iCalendar URL; treat it like a password"})


# --- schedules ---------------------------------------------------------------------------------


class WorkingHoursSchema(Schema):
    id = fields.String(required=True)
    clinician_id = fields.String(required=True)
    location_id = fields.String(required=True)
    weekday = fields.Integer(required=True, metadata={"description": "0 = Monday ... 6 = Sunday"})
    start_time = fields.Time(format=HH_MM, required=True)
    end_time = fields.Time(format=HH_MM, required=True)
    effective_from = fields.Date(allow_none=True)
    effective_until = fields.Date(allow_none=True)


class WorkingHoursRequestSchema(RequestSchema):
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


class ScheduleOverrideRequestSchema(RequestSchema):
    location_id = fields.String(required=True, validate=ID)
    date = fields.Date(required=True, metadata={"description": "Local date at the location"})
    start_time = ClockTime(load_default=None, allow_none=True,
                           metadata={"description": "Replacement hours; leave both times out to close the day"})
    end_time = ClockTime(load_default=None, allow_none=True)


class OverrideQuerySchema(RequestSchema):
    since = fields.Date(load_default=None, metadata={"description": "Only overrides on or after this date"})


class TimeOffSchema(Schema):
    id = fields.String(required=True)
    clinician_id = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    reason = fields.String(allow_none=True)


class TimeOffRequestSchema(RequestSchema):
    start = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    end = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset, after start"})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                           metadata={"description": "Staff-facing; keep health details out"})


class TimeOffQuerySchema(RequestSchema):
    since = fields.AwareDateTime(load_default=None, metadata={"description": "Only time off ending after this (default: now)"})


# --- calendar ---------------------------------------------------------------------------------------


class CalendarQuerySchema(RequestSchema):
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
    working_intervals = fields.List(fields.Nested(WorkingIntervalSchema), required=True,
                                    metadata={"description": "Clipped to the range"})
