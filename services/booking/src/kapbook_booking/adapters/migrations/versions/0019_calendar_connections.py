"""clinicians' own calendars over CalDAV: connections, synced busy ranges, bookings to push

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 09:00:00

New tables only: the bookings table (and its overlap guarantees) is untouched.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import kapbook_platform.database

revision: str = "0019"
down_revision: Union[str, Sequence[str], None] = "0018"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _time(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, kapbook_platform.database.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "calendar_connections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("clinician_id", sa.String(36), sa.ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("password_sealed", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("push_bookings", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("next_sync_at", False),
        _time("claimed_until", True),
        _time("last_synced_at", True),
        _time("last_attempt_at", True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("failed_syncs_in_row", sa.Integer(), nullable=False),
        sa.Column("busy_count", sa.Integer(), nullable=False),
        _time("created_at", False),
        _time("updated_at", False),
        sa.UniqueConstraint("clinician_id", "url", name="uq_calendar_connection_url"),
    )
    op.create_index("ix_calendar_connections_due", "calendar_connections", ["active", "next_sync_at"])
    op.create_table(
        "calendar_busy",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("connection_id", sa.String(36), sa.ForeignKey("calendar_connections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("clinician_id", sa.String(36), sa.ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
        _time("start", False),
        _time("end", False),
        sa.CheckConstraint('start < "end"', name="ck_calendar_busy_order"),
    )
    op.create_index("ix_calendar_busy_clinician", "calendar_busy", ["clinician_id", "start"])
    op.create_index("ix_calendar_busy_connection", "calendar_busy", ["connection_id"])
    op.create_table(
        "calendar_pushes",
        sa.Column("connection_id", sa.String(36), sa.ForeignKey("calendar_connections.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("booking_id", sa.String(36), sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("due_at", True),
        _time("claimed_until", True),
        sa.Column("on_calendar", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        _time("pushed_at", True),
    )
    op.create_index("ix_calendar_pushes_due", "calendar_pushes", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("calendar_pushes")
    op.drop_table("calendar_busy")
    op.drop_table("calendar_connections")
