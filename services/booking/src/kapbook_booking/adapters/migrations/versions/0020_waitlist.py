"""the waitlist: entries with their windows, offers (each kept by a hold), freed times to offer

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:00:00

New tables only: an offer keeps its slot with an ordinary hold in ``bookings``, so the existing
exclusion constraints are what make two live offers of one chair impossible.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import kapbook_platform.database

revision: str = "0020"
down_revision: Union[str, Sequence[str], None] = "0019"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _time(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, kapbook_platform.database.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("appointment_type_id", sa.String(36), sa.ForeignKey("appointment_types.id"), nullable=False),
        sa.Column("clinician_id", sa.String(36), sa.ForeignKey("clinicians.id"), nullable=True),
        sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=True),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("patient_email", sa.String(320), nullable=False),
        sa.Column("patient_phone", sa.String(40), nullable=True),
        sa.Column("patient_timezone", sa.String(64), nullable=False),
        sa.Column("screening_id", sa.String(64), nullable=True),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("earliest_date", sa.Date(), nullable=True),
        sa.Column("latest_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("leave_token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        _time("joined_at", False),
        _time("expires_at", False),
        _time("updated_at", False),
    )
    op.create_index("ix_waitlist_entries_waiting", "waitlist_entries", ["appointment_type_id", "status", "joined_at"])
    op.create_index("ix_waitlist_entries_email", "waitlist_entries", ["patient_email"])
    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("entry_id", sa.String(36), sa.ForeignKey("waitlist_entries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=False),
        sa.Column("clinician_id", sa.String(36), sa.ForeignKey("clinicians.id"), nullable=False),
        sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
        _time("start", False),
        _time("end", False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("offered_by", sa.String(100), nullable=False),
        _time("created_at", False),
        _time("expires_at", False),
        _time("decided_at", True),
        sa.Column("booking_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_waitlist_offers_entry", "waitlist_offers", ["entry_id", "start"])
    op.create_index("ix_waitlist_offers_open", "waitlist_offers", ["status", "expires_at"])
    op.create_index("uq_waitlist_offers_one_open", "waitlist_offers", ["entry_id"], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "waitlist_openings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("appointment_type_id", sa.String(36), sa.ForeignKey("appointment_types.id"), nullable=False),
        sa.Column("clinician_id", sa.String(36), sa.ForeignKey("clinicians.id"), nullable=False),
        _time("start", False),
        sa.Column("reason", sa.String(40), nullable=False),
        _time("created_at", False),
        _time("processed_at", True),
    )
    op.create_index("ix_waitlist_openings_pending", "waitlist_openings", ["processed_at", "id"])


def downgrade() -> None:
    op.drop_table("waitlist_openings")
    op.drop_index("uq_waitlist_offers_one_open", table_name="waitlist_offers")
    op.drop_table("waitlist_offers")
    op.drop_table("waitlist_entries")
