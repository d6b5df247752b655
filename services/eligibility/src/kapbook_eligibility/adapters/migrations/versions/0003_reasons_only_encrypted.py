"""screenings: outcome and reason codes only inside the encrypted result; a review-queue priority instead

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 20:40:00

The plaintext ``outcome`` and ``reason_codes`` columns sat beside the patient's name and email
(``crisis``, ``cssrs_high_risk``, ``opioid``, ``pregnancy``). Every row already carries both in
``result_encrypted``: since 0001 the column is NOT NULL and the service seals the whole decision
(``Decision.to_dict()``: outcome, reasons, scores) into it, so there is nothing to move and the
migration (which holds no key) does not decrypt. The review queue needs one thing in the clear:
crises first. That becomes ``priority`` (0 = review first, 1 = normal), workflow state that names
no outcome or reason.

Downgrade restores the columns fail-safe: the values cannot be read back without the key, so
every screening comes back as ``crisis`` (priority 0) or ``needs_review`` with no reason codes,
which blocks treatment booking until a clinician has approved it.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("screenings", sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("1")))
    op.execute("UPDATE screenings SET priority = 0 WHERE outcome = 'crisis'")
    with op.batch_alter_table("screenings") as batch_op:
        batch_op.drop_column("reason_codes")
        batch_op.drop_column("outcome")


def downgrade() -> None:
    with op.batch_alter_table("screenings") as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=False, server_default="needs_review"))
        batch_op.add_column(sa.Column("reason_codes", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.execute("UPDATE screenings SET outcome = 'crisis' WHERE priority = 0")
    with op.batch_alter_table("screenings") as batch_op:
        batch_op.drop_column("priority")
