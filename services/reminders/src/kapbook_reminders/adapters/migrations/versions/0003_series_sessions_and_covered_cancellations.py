"""newest snapshot of each series session; cancellations covered by a series email

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 21:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import kapbook_platform.database


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('series_sessions',
    sa.Column('booking_id', sa.String(length=36), nullable=False),
    sa.Column('series_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('updated_at', kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('booking_id')
    )
    with op.batch_alter_table('series_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_series_sessions_series', ['series_id'], unique=False)
    op.create_table('covered_cancellations',
    sa.Column('booking_id', sa.String(length=36), nullable=False),
    sa.Column('series_id', sa.String(length=36), nullable=False),
    sa.Column('covered_at', kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('booking_id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('covered_cancellations')
    with op.batch_alter_table('series_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_series_sessions_series')
    op.drop_table('series_sessions')
