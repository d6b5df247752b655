"""Request and response bodies of the webhook endpoint routes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kapbook_booking.domain.webhooks import WEBHOOK_EVENT_TYPES
from kapbook_booking.entrypoints.http.staff_schema_fields import ChangeSchema
from kapbook_platform.contracts.schemas import JsonBoolean, StrictSchema, no_control_characters

EVENT_TYPES = fields.List(
    fields.String(validate=validate.OneOf(WEBHOOK_EVENT_TYPES)), required=True, validate=validate.Length(min=1, max=len(WEBHOOK_EVENT_TYPES)),
    metadata={"description": "Events to receive: " + ", ".join(WEBHOOK_EVENT_TYPES)},
)


class WebhookRequestSchema(StrictSchema):
    url = fields.String(
        required=True, validate=[validate.Length(min=1, max=2000), no_control_characters],
        metadata={"description": "Where to POST (https in production; internal addresses are refused in production)"},
    )
    event_types = EVENT_TYPES
    description = fields.String(load_default="", validate=[validate.Length(max=500), no_control_characters])


class WebhookChangeSchema(WebhookRequestSchema, ChangeSchema):
    active = JsonBoolean(metadata={"description": "false pauses deliveries; true re-enables a disabled endpoint"})


class WebhookSchema(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True)
    failed_deliveries_in_row = fields.Integer(required=True)
    previous_secret_expires_at = fields.AwareDateTime(allow_none=True, metadata={"description": "Until when the rotated-out secret still signs"})
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(required=True, metadata={"description": "whsec_… signing secret, shown only in this answer"})


class WebhookAttemptSchema(Schema):
    attempted_at = fields.AwareDateTime(required=True)
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer(required=True)


class WebhookDeliverySchema(Schema):
    id = fields.String(required=True, metadata={"description": "The webhook-id header (same on retries and replays)"})
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "pending, succeeded or failed"})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    attempt_log = fields.List(fields.Nested(WebhookAttemptSchema), required=True)
