"""The CloudEvents 1.0 envelope every Kapbook event travels in (JSON only)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from kapbook_platform.clock import utc_now
from kapbook_platform.contracts.events import EVENT_SCHEMAS

SPEC_VERSION = "1.0"


class InvalidEvent(ValueError):
    """A message that is not a valid Kapbook event; it belongs in the dead-letter queue."""

    def __init__(self, errors: Any) -> None:
        super().__init__(f"invalid event: {errors}")
        self.errors = errors


class EnvelopeSchema(Schema):
    """CloudEvents 1.0 structured-mode JSON, with Kapbook's correlation id extension."""

    class Meta:
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal(SPEC_VERSION))
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    source = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(sorted(EVENT_SCHEMAS)))
    time = fields.AwareDateTime(required=True)
    datacontenttype = fields.String(required=True, validate=validate.Equal("application/json"))
    correlationid = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    data = fields.Dict(required=True)


@dataclass(frozen=True)
class Envelope:
    type: str
    source: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=utc_now)
    correlationid: str | None = None

    @property
    def routing_key(self) -> str:
        """``kapbook.booking.created.v1`` travels as ``booking.created.v1``."""
        return self.type.removeprefix("kapbook.")

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
            "correlationid": self.correlationid,
            "data": self.data,
        }


def _validated_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    schema = EVENT_SCHEMAS[event_type]()
    try:
        return schema.dump(schema.load(data))
    except ValidationError as error:
        raise InvalidEvent({"data": error.messages}) from None


def make_envelope(event_type: str, source: str, data: dict[str, Any], correlation_id: str | None = None) -> Envelope:
    """Validate ``data`` against its event schema and wrap it (raises InvalidEvent)."""
    if event_type not in EVENT_SCHEMAS:
        raise InvalidEvent({"type": [f"unknown event type {event_type!r}"]})
    return Envelope(type=event_type, source=source, data=_validated_data(event_type, data), correlationid=correlation_id)


def parse_envelope(body: Any) -> Envelope:
    """Validate a received message body, envelope and data both (raises InvalidEvent)."""
    if not isinstance(body, dict):
        raise InvalidEvent({"_schema": ["message body is not a JSON object"]})
    try:
        attributes = EnvelopeSchema().load(body)
    except ValidationError as error:
        raise InvalidEvent(error.messages) from None
    data = _validated_data(attributes["type"], attributes["data"])
    return Envelope(
        type=attributes["type"],
        source=attributes["source"],
        data=data,
        id=attributes["id"],
        time=attributes["time"],
        correlationid=attributes["correlationid"],
    )
