"""HTTP bodies more than one party uses (widget, staff console, other services)."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from marshmallow import Schema, ValidationError, fields, validate

from kapbook_platform.contracts.schemas import JsonBoolean, StrictSchema, no_control_characters


def validate_timezone(value: str) -> None:
    """An IANA zone name such as ``Europe/Berlin``."""
    if value not in _known_zones():
        raise ValidationError("Not a known IANA time zone (for example Europe/Berlin).")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Not a known IANA time zone (for example Europe/Berlin).") from None


_ZONES: frozenset[str] | None = None


def _known_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


class TimeZoneName(fields.String):
    """An IANA zone name such as ``Europe/Berlin``; the OpenAPI document lists the known ones."""

    def __init__(self, **kwargs) -> None:
        metadata = {"enum": sorted(_known_zones())} | kwargs.pop("metadata", {})
        super().__init__(validate=validate_timezone, metadata=metadata, **kwargs)


class PatientSchema(StrictSchema):
    # Name, email and phone reach the confirmation's headers and the invite: no control characters.
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_control_characters])
    email = fields.Email(required=True, validate=[validate.Length(max=320), no_control_characters.check])
    phone = fields.String(load_default=None, allow_none=True,
                          validate=[validate.Regexp(r"^\+?[0-9 ()./-]{5,30}$"), no_control_characters.check])
    timezone = TimeZoneName(required=True)


class BookingRequestSchema(StrictSchema):
    appointment_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    start = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    clinician_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    patient = fields.Nested(PatientSchema, required=True)
    screening_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    driver_confirmed = JsonBoolean(load_default=False)
    hold_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    patient_proof = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100),
        metadata={"description": "A returning patient's proof of their verified email (from the emailed sign-in link); "
                                 "a treatment type then needs no screening_id while their decision is valid"},
    )


CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WaitlistWindowSchema(StrictSchema):
    """Weekdays and a time of day range in the patient's zone; an end of 00:00 means midnight."""

    weekdays = fields.List(fields.String(validate=validate.OneOf(WEEKDAYS)), required=True,
                           validate=validate.Length(min=1, max=7))
    start = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME, error="Use HH:MM, e.g. 09:30."),
                          metadata={"description": "HH:MM, the patient's local time"})
    end = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME, error="Use HH:MM, e.g. 17:00."),
                        metadata={"description": "HH:MM; 00:00 means until midnight"})


class WaitlistJoinRequestSchema(StrictSchema):
    """Join the waitlist for an appointment type, optionally one clinician and/or location."""

    appointment_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    patient = fields.Nested(PatientSchema, required=True)
    windows = fields.List(fields.Nested(WaitlistWindowSchema), required=True, validate=validate.Length(min=1, max=14))
    clinician_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    location_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    earliest_date = fields.Date(load_default=None, allow_none=True)
    latest_date = fields.Date(load_default=None, allow_none=True)
    screening_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    patient_proof = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100),
        metadata={"description": "A returning patient's proof of their verified email, standing in for screening_id"},
    )


class EligibilityDecisionSchema(Schema):
    """The eligibility service's answer to the booking service's decision lookup."""

    screening_id = fields.String(required=True)
    patient_email = fields.Email(required=True)
    outcome = fields.String(required=True)
    clinician_decision = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)
