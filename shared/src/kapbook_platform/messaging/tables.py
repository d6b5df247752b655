"""Tables every service keeps in its own database: outbox, inbox and dead letters."""
from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text

from kapbook_platform.database import UtcDateTime


def outbox_table(metadata: MetaData) -> Table:
    """Events written in the same transaction as the change that caused them."""
    return Table(
        "outbox",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("routing_key", String(100), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_pending", "published_at", "created_at"),
    )


def inbox_table(metadata: MetaData) -> Table:
    """Event ids this service has handled: a redelivered event finds its id here and has no effect."""
    return Table(
        "inbox",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("handled_at", UtcDateTime(), nullable=False),
    )


def dead_letter_table(metadata: MetaData) -> Table:
    """Messages this service gave up on, kept for staff to see and replay."""
    return Table(
        "dead_letters",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=True),
        Column("type", String(100), nullable=True),
        Column("reason", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("dead_at", UtcDateTime(), nullable=False),
    )
