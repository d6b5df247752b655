"""a partial index of holds by expiry, for removing lapsed holds before each booking and offer

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 17:05:00

Every booking, hold and waitlist offer first deletes expired holds; without an index that was a scan
of the whole bookings table (5,000 rows on the large clinic) in each of those transactions.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: Union[str, Sequence[str], None] = "0020"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

HELD = sa.text("status = 'held'")


def upgrade() -> None:
    op.create_index("ix_bookings_held_expiry", "bookings", ["hold_expires_at"], sqlite_where=HELD, postgresql_where=HELD)


def downgrade() -> None:
    op.drop_index("ix_bookings_held_expiry", table_name="bookings")
