"""eligibility_decisions: an allowed flag instead of the outcome word and the clinician's decision

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 20:45:00

The projection kept ``outcome='crisis'`` (or ineligible, needs_review) beside the patient's
email. The gate needs one thing: may this email book treatment. Existing rows are scrubbed:
``allowed`` is the clinician's decision when there is one (approved), else outcome = eligible,
the rule of service_layer.eligibility.treatment_allowed. Then outcome and clinician_decision go.
Batch mode rebuilds this table on SQLite (no triggers on it; the booking overlap triggers live
on ``bookings`` and are untouched).

Downgrade cannot bring the outcome back; it restores the columns fail-safe: an allowed row
becomes outcome 'eligible', a blocked one 'needs_review' (no clinician decision), so the old
gate blocks exactly what the flag blocked.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("eligibility_decisions", sa.Column("allowed", sa.Boolean(), nullable=True))
    decisions = sa.table(
        "eligibility_decisions",
        sa.column("allowed", sa.Boolean()),
        sa.column("outcome", sa.String()),
        sa.column("clinician_decision", sa.String()),
    )
    op.execute(decisions.update().values(allowed=sa.case(
        (decisions.c.clinician_decision.is_not(None), decisions.c.clinician_decision == "approved"),
        else_=decisions.c.outcome == "eligible",
    )))
    with op.batch_alter_table("eligibility_decisions") as batch_op:
        batch_op.alter_column("allowed", existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_column("clinician_decision")
        batch_op.drop_column("outcome")


def downgrade() -> None:
    with op.batch_alter_table("eligibility_decisions") as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=False, server_default="needs_review"))
        batch_op.add_column(sa.Column("clinician_decision", sa.String(length=20), nullable=True))
    decisions = sa.table(
        "eligibility_decisions",
        sa.column("allowed", sa.Boolean()),
        sa.column("outcome", sa.String()),
        sa.column("clinician_decision", sa.String()),
    )
    op.execute(decisions.update().where(decisions.c.allowed.is_(True)).values(outcome="eligible"))
    with op.batch_alter_table("eligibility_decisions") as batch_op:
        batch_op.drop_column("allowed")
