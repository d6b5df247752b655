"""staff credentials: scopes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:00:00

``staff_credentials.scopes`` (JSON list of read_only, bookings, schedules, reviews): what an API
token may do. Existing rows stay null, which means the role's full rights, so tokens issued before
keep working. A plain ADD COLUMN on both databases.
"""
from typing import Sequence, Union

from kapbook_platform.staff.migrations import add_credential_scopes, drop_credential_scopes

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_credential_scopes()


def downgrade() -> None:
    drop_credential_scopes()
