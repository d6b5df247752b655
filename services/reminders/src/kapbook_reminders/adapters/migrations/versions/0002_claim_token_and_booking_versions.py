"""claim token of the dispatcher holding a lease; newest version of each booking

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 21:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import kapbook_platform.database


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('booking_versions',
    sa.Column('booking_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('start', kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('booking_id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=36), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('claim_token')
    op.drop_table('booking_versions')
