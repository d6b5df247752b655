"""staff identity: staff_members.password_hash and password_changed_at

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-06 21:30:00

Plain ADD COLUMN on both databases (no batch table copy on SQLite). Existing staff keep signing
in with their tokens until someone sets them a password (``kapbook-booking create-staff``).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import kapbook_platform.database

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("staff_members", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.add_column("staff_members", sa.Column("password_changed_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("staff_members", "password_changed_at")
    op.drop_column("staff_members", "password_hash")
