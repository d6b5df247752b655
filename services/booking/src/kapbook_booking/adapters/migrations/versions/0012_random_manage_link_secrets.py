"""random manage-link secrets, stored hashed (issue 14 finding 4)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:00:00

No backfill is possible: the old links were signatures and no secret was ever stored. Bookings
made before this migration therefore have no row here and keep accepting their old signed token
until staff rotate their link (which adds a row and so ends the old token).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import kapbook_platform.database

revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "manage_link_secrets",
        sa.Column("secret_sha256", sa.String(64), primary_key=True),
        sa.Column("booking_id", sa.String(36), sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_manage_link_secrets_booking", "manage_link_secrets", ["booking_id"])


def downgrade() -> None:
    op.drop_index("ix_manage_link_secrets_booking", table_name="manage_link_secrets")
    op.drop_table("manage_link_secrets")
