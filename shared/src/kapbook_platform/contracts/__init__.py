"""Everything that crosses a service boundary, described once with marshmallow."""
from kapbook_platform.contracts.envelope import Envelope, EnvelopeSchema, InvalidEvent, make_envelope, parse_envelope
from kapbook_platform.contracts.events import EVENT_SCHEMAS, EventType

__all__ = ["EVENT_SCHEMAS", "Envelope", "EnvelopeSchema", "EventType", "InvalidEvent", "make_envelope", "parse_envelope"]
