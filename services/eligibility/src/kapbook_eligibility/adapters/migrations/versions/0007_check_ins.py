"""check-ins between doses

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 14:30:00

``check_ins``: a patient's PHQ-9 / GAD-7 (and optional C-SSRS) check-in from an emailed link,
one per booking and occasion. Answers and scores are Fernet-encrypted exactly as a screening's
(``answers_encrypted``, ``result_encrypted``); the plain columns are ids, times and workflow state.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from kapbook_platform.database import UtcDateTime

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "check_ins",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("booking_id", sa.String(64), nullable=False),
        sa.Column("occasion", sa.String(20), nullable=False),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("patient_email", sa.String(320), nullable=False),
        sa.Column("session_start", UtcDateTime(timezone=True), nullable=False),
        sa.Column("questionnaire_version", sa.String(40), nullable=False),
        sa.Column("answers_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("result_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("submitted_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("reviewer_name", sa.String(200), nullable=True),
        sa.UniqueConstraint("booking_id", "occasion", name="uq_check_ins_booking_occasion"),
    )
    op.create_index("ix_check_ins_email", "check_ins", ["patient_email", "submitted_at"])
    op.create_index("ix_check_ins_status", "check_ins", ["status", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_check_ins_status", table_name="check_ins")
    op.drop_index("ix_check_ins_email", table_name="check_ins")
    op.drop_table("check_ins")
