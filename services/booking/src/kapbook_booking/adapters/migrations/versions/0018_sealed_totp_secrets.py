"""staff TOTP secrets sealed at rest: room for the sealed form

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-07 02:00:00

A sealed secret (Fernet, key derived from BOOKING_SECRET_KEY) is about 140 characters. Secrets
stored before this change stay plain until next used, when the service seals them (the migration
has no key to seal with).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("staff_members") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(64), type_=sa.String(255), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("staff_members") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(255), type_=sa.String(64), existing_nullable=True)
