"""returning patients: patients, patient_sign_in_links, patient_sessions; existing bookings backfilled

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:30:00

One patient per normalised email (stripped, lower-case). Existing bookings' emails are grouped
case-insensitively; each patient takes the name, phone and time zone of their latest booking.
Sign-in tokens and session ids are stored only as SHA-256 hashes. Bookings get an index on
lower(patient_email) for "My appointments".
"""
import uuid
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import kapbook_platform.database

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = kapbook_platform.database.UtcDateTime(timezone=True)


def upgrade() -> None:
    patients = op.create_table(
        "patients",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
    )
    op.create_table(
        "patient_sign_in_links",
        sa.Column("token_sha256", sa.String(length=64), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("return_to", sa.String(length=2000), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
    )
    op.create_index("ix_patient_sign_in_links_email", "patient_sign_in_links", ["email", "created_at"])
    op.create_table(
        "patient_sessions",
        sa.Column("id_sha256", sa.String(length=64), primary_key=True),
        sa.Column("patient_id", sa.String(length=36), sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
    )
    op.create_index("ix_patient_sessions_patient", "patient_sessions", ["patient_id"])
    op.create_index("ix_bookings_patient_email_lower", "bookings", [sa.text("lower(patient_email)")])
    _backfill(patients)


def _backfill(patients: sa.Table) -> None:
    """One patient per case-insensitive email of the existing bookings, with their latest details."""
    bookings = sa.table(
        "bookings", sa.column("patient_email", sa.String()), sa.column("patient_name", sa.String()),
        sa.column("patient_phone", sa.String()), sa.column("patient_timezone", sa.String()),
        sa.column("created_at", UTC), sa.column("status", sa.String()),
    )
    rows = op.get_bind().execute(
        sa.select(bookings.c.patient_email, bookings.c.patient_name, bookings.c.patient_phone,
                  bookings.c.patient_timezone, bookings.c.created_at)
        .where(bookings.c.patient_email.is_not(None), bookings.c.status != "held")
        .order_by(bookings.c.created_at)
    ).all()
    latest: dict[str, dict] = {}
    for email, name, phone, zone, created_at in rows:
        key = email.strip().lower()
        first = latest.get(key, {}).get("created_at", created_at)
        latest[key] = {"email": key, "name": name, "phone": phone, "timezone": zone,
                       "created_at": first, "updated_at": created_at}
    if latest:
        op.bulk_insert(patients, [{"id": str(uuid.uuid4())} | values for values in latest.values()])


def downgrade() -> None:
    op.drop_index("ix_bookings_patient_email_lower", table_name="bookings")
    op.drop_index("ix_patient_sessions_patient", table_name="patient_sessions")
    op.drop_table("patient_sessions")
    op.drop_index("ix_patient_sign_in_links_email", table_name="patient_sign_in_links")
    op.drop_table("patient_sign_in_links")
    op.drop_table("patients")
