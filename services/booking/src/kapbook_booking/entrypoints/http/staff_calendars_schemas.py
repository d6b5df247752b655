"""Request and response bodies of the connected-calendar routes (CalDAV)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kapbook_booking.entrypoints.http.staff_schema_fields import ChangeSchema
from kapbook_platform.contracts.schemas import JsonBoolean, StrictSchema, no_control_characters


class CalendarConnectionRequestSchema(StrictSchema):
    url = fields.String(
        required=True, validate=[validate.Length(min=1, max=2000), no_control_characters],
        metadata={"description": "The calendar collection's CalDAV URL, e.g. https://caldav.example.org/dav/alice/work/ "
                                 "(internal addresses are refused in production)"},
    )
    username = fields.String(required=True, validate=[validate.Length(min=1, max=255), no_control_characters])
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=500),
        metadata={"description": "Stored encrypted; never shown again (an app password is best)"},
    )
    timezone = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "IANA zone for all-day and floating events (default: the zone of the clinician's main location)"},
    )
    push_bookings = JsonBoolean(
        load_default=False, metadata={"description": "Also write each booking into this calendar as \"Kapbook appointment\""},
    )


class CalendarConnectionChangeSchema(CalendarConnectionRequestSchema, ChangeSchema):
    active = JsonBoolean(metadata={"description": "false pauses syncing (its busy times stop blocking); true resumes"})


class CalendarConnectionSchema(Schema):
    id = fields.String(required=True)
    clinician_id = fields.String(required=True)
    url = fields.String(required=True)
    username = fields.String(required=True)
    timezone = fields.String(required=True)
    push_bookings = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    last_synced_at = fields.AwareDateTime(allow_none=True, metadata={"description": "The last sync that succeeded"})
    last_attempt_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True, metadata={"description": "Why the last sync failed (null: it worked)"})
    failed_syncs_in_row = fields.Integer(required=True)
    busy_count = fields.Integer(required=True, metadata={"description": "Busy ranges stored by the last good sync"})
    stale = fields.Boolean(
        required=True,
        metadata={"description": "The busy times are out of date (the last sync failed, or none worked lately): "
                                 "availability uses the last known ones"},
    )
    next_sync_at = fields.AwareDateTime(required=True)
    pushes_pending = fields.Integer(required=True)
    pushes_failed = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class BusyRangeSchema(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
