"""telehealth join links: bookings.join_url, clinicians.video_room_url

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 19:55:00

Plain ADD COLUMN on both databases (no batch table copy on SQLite): the triggers that
refuse overlapping bookings on SQLite stay as they are.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('bookings', sa.Column('join_url', sa.String(length=2000), nullable=True))
    op.add_column('clinicians', sa.Column('video_room_url', sa.String(length=2000), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    # SQLite 3.35+ drops a column in place (neither column is used by a trigger or an index).
    op.drop_column('clinicians', 'video_room_url')
    op.drop_column('bookings', 'join_url')
