"""staff linked to clinicians: at most one staff member per clinician record

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:00:00

``staff_members.clinician_id`` exists since 0001; a linked clinician manages their own schedule,
so two accounts must never claim the same clinician. A unique index (NULLs stay allowed many
times on both SQLite and PostgreSQL), no table copy.
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ux_staff_members_clinician_id", "staff_members", ["clinician_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_staff_members_clinician_id", table_name="staff_members")
