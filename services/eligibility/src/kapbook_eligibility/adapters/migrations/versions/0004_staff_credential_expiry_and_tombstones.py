"""staff credentials: an expiry, and tombstones of revoked credentials

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 21:55:00

``staff_credentials.expires_at`` (null: never) and ``staff_credential_tombstones``: a revoked
credential id stays there for good, so an "issued" event delivered after its "revoked" event
cannot bring the credential back. Plain ADD COLUMN and CREATE TABLE on both databases.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import kapbook_platform.database

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("staff_credentials", sa.Column("expires_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=True))
    op.create_table(
        "staff_credential_tombstones",
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credential_id"),
    )


def downgrade() -> None:
    op.drop_table("staff_credential_tombstones")
    op.drop_column("staff_credentials", "expires_at")
