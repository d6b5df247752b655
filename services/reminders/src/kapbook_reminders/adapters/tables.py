"""The reminders service's tables: planned messages, their deliveries, patients' preferences."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from kapbook_platform.database import UtcDateTime
from kapbook_platform.runtime import add_platform_tables

metadata = MetaData()
PLATFORM_TABLES = add_platform_tables(metadata)

# scheduled -> sending -> sent | failed; or skipped / cancelled without sending.
MESSAGE_STATUSES = ("scheduled", "sending", "sent", "skipped", "cancelled", "failed")

messages = Table(
    "messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("booking_id", String(36), nullable=True),
    Column("kind", String(30), nullable=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("essential", Boolean, nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    # What the email is written from: a booking snapshot, or a crisis alert's link.
    Column("context", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    # Which claim holds the lease: a dispatcher whose lease was taken over must not send or record.
    Column("claim_token", String(36), nullable=True),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("smtp_message_id", String(200), nullable=True),
    Column("result", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_messages_due", "status", "due_at"),
    Index("ix_messages_booking", "booking_id"),
)

# The newest version of each booking seen in its events: planning ignores older events, and the
# dispatcher holds back a message planned from a version that has since changed.
booking_versions = Table(
    "booking_versions",
    metadata,
    Column("booking_id", String(36), primary_key=True),
    Column("sequence", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    # Lets a reschedule notice say what the time was when the event does not.
    Column("start", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

contact_preferences = Table(
    "contact_preferences",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("unsubscribed_at", UtcDateTime(), nullable=True),
)

# The newest snapshot of each session of a treatment series, from its booking events and the
# series.booked event: series emails are written from it at send time (series.cancelled carries ids only).
series_sessions = Table(
    "series_sessions",
    metadata,
    Column("booking_id", String(36), primary_key=True),
    Column("series_id", String(36), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_series_sessions_series", "series_id"),
)

# Sessions whose cancellation a series.cancelled email covers: their own cancellation notice is not sent.
covered_cancellations = Table(
    "covered_cancellations",
    metadata,
    Column("booking_id", String(36), primary_key=True),
    Column("series_id", String(36), nullable=False),
    Column("covered_at", UtcDateTime(), nullable=False),
)
