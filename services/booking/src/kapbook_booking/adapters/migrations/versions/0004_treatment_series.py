"""treatment protocols and series: protocols, series, bookings.series_id / series_position

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 21:30:00

Plain ADD COLUMN on bookings (no batch table copy on SQLite), so the triggers that refuse
overlapping bookings on SQLite stay as they are. bookings.series_id carries no foreign key for
the same reason (SQLite cannot add one without rebuilding the table); the service writes it.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import kapbook_platform.database

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "protocols",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("appointment_type_id", sa.String(length=36), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("min_gap_hours", sa.Integer(), nullable=False),
        sa.Column("max_window_days", sa.Integer(), nullable=False),
        sa.Column("max_per_week", sa.Integer(), nullable=True),
        sa.Column("requires_preparation", sa.Boolean(), nullable=False),
        sa.Column("integration_within_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("sessions > 0", name="ck_protocol_sessions_positive"),
        sa.ForeignKeyConstraint(["appointment_type_id"], ["appointment_types.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "series",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("protocol_id", sa.String(length=36), nullable=False),
        sa.Column("patient_email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["protocol_id"], ["protocols.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_series_patient_email", "series", ["patient_email"], unique=False)
    op.add_column("bookings", sa.Column("series_id", sa.String(length=36), nullable=True))
    op.add_column("bookings", sa.Column("series_position", sa.Integer(), nullable=True))
    op.create_index("ix_bookings_series", "bookings", ["series_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bookings_series", table_name="bookings")
    # SQLite 3.35+ drops a column in place (neither is used by a trigger).
    op.drop_column("bookings", "series_position")
    op.drop_column("bookings", "series_id")
    op.drop_index("ix_series_patient_email", table_name="series")
    op.drop_table("series")
    op.drop_table("protocols")
