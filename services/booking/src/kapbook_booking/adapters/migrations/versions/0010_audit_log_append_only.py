"""audit log: append-only (triggers refuse UPDATE and DELETE)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:00:00

PostgreSQL: a PL/pgSQL trigger function raising, BEFORE UPDATE/DELETE row triggers and a BEFORE
TRUNCATE statement trigger. SQLite: BEFORE UPDATE/DELETE triggers doing RAISE(ABORT, ...).
Retention is an operator-run maintenance with the trigger disabled (see
kapbook_platform.staff.migrations.make_audit_log_append_only).
"""
from typing import Sequence, Union

from kapbook_platform.staff.migrations import allow_audit_log_changes, make_audit_log_append_only

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    make_audit_log_append_only()


def downgrade() -> None:
    allow_audit_log_changes()
