"""Request and response bodies of the staff catalogue routes: locations, rooms, appointment types, clinicians."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kapbook_booking.entrypoints.http.staff_schema_fields import ID, NAME, ChangeSchema
from kapbook_booking.service_layer.catalog import APPOINTMENT_CATEGORIES, CLINICIAN_ROLES, MODALITIES
from kapbook_platform.contracts.http import TimeZoneName
from kapbook_platform.contracts.schemas import JsonBoolean, StrictSchema

MINUTES_PER_DAY = 24 * 60
# One pattern in the document and in the check: an absolute http(s) URL, no spaces or quotes.
WEB_URL = validate.Regexp(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?$",
    error="An absolute http(s) URL, e.g. https://video.clinic.example/rooms/dr-rivera.",
)
VIDEO_ROOM = "A fixed video room for all their telehealth bookings (wins over BOOKING_VIDEO_ROOM_TEMPLATE); null: a new room per booking"
ROOM_KIND = validate.Regexp(r"^[a-z][a-z0-9_]{0,29}$", error="Lower-case letters, digits and underscores, e.g. infusion_chair.")
TYPE_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", error="Lower-case letters, digits and hyphens, e.g. iv-infusion.")


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


class LocationRequestSchema(StrictSchema):
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


class RoomRequestSchema(StrictSchema):
    location_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=ROOM_KIND,
                         metadata={"description": "What it is, e.g. infusion_chair, dosing_room"})
    active = JsonBoolean(load_default=True)


class RoomChangeSchema(ChangeSchema):
    name = fields.String(validate=NAME)
    kind = fields.String(validate=ROOM_KIND)
    active = JsonBoolean(metadata={"description": "Inactive rooms are never offered"})


class RoomQuerySchema(StrictSchema):
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


class AppointmentTypeRequestSchema(StrictSchema):
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
    video_room_url = fields.String(allow_none=True, metadata={"description": VIDEO_ROOM})


class ClinicianRequestSchema(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    role = fields.String(required=True, validate=validate.OneOf(CLINICIAN_ROLES))
    appointment_types = fields.List(
        fields.String(validate=TYPE_CODE), load_default=list, validate=validate.Length(max=100),
        metadata={"description": "Codes of the appointment types they deliver (replaces the set on update)"},
    )
    active = JsonBoolean(load_default=True, metadata={"description": "Inactive clinicians are never offered"})
    video_room_url = fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(max=2000), WEB_URL], metadata={"description": VIDEO_ROOM},
    )


class ClinicianChangeSchema(ChangeSchema, ClinicianRequestSchema):
    pass


class CalendarFeedLinkSchema(Schema):
    clinician_id = fields.String(required=True)
    url = fields.String(allow_none=True, metadata={"description": "Secret iCalendar URL; treat it like a password"})
