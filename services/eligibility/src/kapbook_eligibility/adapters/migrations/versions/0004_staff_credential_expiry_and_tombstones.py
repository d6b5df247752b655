"""staff credentials: an expiry, and tombstones of revoked credentials

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 21:55:00

``staff_credentials.expires_at`` (null: never) and ``staff_credential_tombstones``: a revoked
credential id stays there for good, so an "issued" event delivered after its "revoked" event
cannot bring the credential back. Plain ADD COLUMN and CREATE TABLE on both databases.
"""
from typing import Sequence, Union

from kapbook_platform.staff.migrations import add_credential_expiry_and_tombstones, drop_credential_expiry_and_tombstones

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_credential_expiry_and_tombstones()


def downgrade() -> None:
    drop_credential_expiry_and_tombstones()
