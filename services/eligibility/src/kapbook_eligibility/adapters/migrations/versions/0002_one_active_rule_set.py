"""at most one active rule set; rule set versions up to 64 characters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A partial unique index (only one row may have active = true); versions as long as the domain allows."""
    with op.batch_alter_table("rule_sets") as batch_op:
        batch_op.alter_column("version", existing_type=sa.String(40), type_=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("screenings") as batch_op:
        batch_op.alter_column("ruleset_version", existing_type=sa.String(40), type_=sa.String(64), existing_nullable=False)
    op.create_index(
        "uq_rule_sets_one_active",
        "rule_sets",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )


def downgrade() -> None:
    op.drop_index("uq_rule_sets_one_active", table_name="rule_sets")
    with op.batch_alter_table("screenings") as batch_op:
        batch_op.alter_column("ruleset_version", existing_type=sa.String(64), type_=sa.String(40), existing_nullable=False)
    with op.batch_alter_table("rule_sets") as batch_op:
        batch_op.alter_column("version", existing_type=sa.String(64), type_=sa.String(40), existing_nullable=False)
