"""Schema steps for the staff tables every service keeps (``kapbook_platform.staff.tables``).

Each service's Alembic migration calls these, so the three copies of a shared table change the
same way. A step, once released, is never edited: a later change is a new function.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kapbook_platform.database import UtcDateTime


def add_credential_expiry_and_tombstones() -> None:
    """``staff_credentials.expires_at`` (null: never) and ``staff_credential_tombstones``: a revoked
    credential id stays there for good, so an "issued" event delivered after its "revoked" event
    cannot bring the credential back."""
    op.add_column("staff_credentials", sa.Column("expires_at", UtcDateTime(timezone=True), nullable=True))
    op.create_table(
        "staff_credential_tombstones",
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credential_id"),
    )


def drop_credential_expiry_and_tombstones() -> None:
    op.drop_table("staff_credential_tombstones")
    op.drop_column("staff_credentials", "expires_at")


# --- the audit log refuses UPDATE and DELETE (helper audit) ---------------------------------------

AUDIT_APPEND_ONLY_MESSAGE = "audit_log is append-only: rows cannot be updated or deleted"
_PG_FUNCTION = "audit_log_append_only"
_TRIGGERS = {"UPDATE": "audit_log_no_update", "DELETE": "audit_log_no_delete"}


def make_audit_log_append_only() -> None:
    """Triggers that make every UPDATE and DELETE of ``audit_log`` fail, on PostgreSQL and SQLite.

    Retention, if ever needed, is an operator's maintenance run: disable the trigger (PostgreSQL
    ``ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete``; SQLite: drop and re-create it),
    delete, re-enable, in one transaction; no application code does it. A later SQLite
    ``batch_alter_table("audit_log")`` copies the table and loses these triggers: call this again after it.
    """
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{AUDIT_APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END
            $$""")
        for statement, name in _TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} BEFORE {statement} ON audit_log "
                       f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()")
        # TRUNCATE skips row triggers; refuse it with a statement trigger.
        op.execute(f"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()")
    else:
        for statement, name in _TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} BEFORE {statement} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY_MESSAGE}'); END")


def allow_audit_log_changes() -> None:
    """Undo ``make_audit_log_append_only``."""
    postgres = op.get_bind().dialect.name == "postgresql"
    names = [*_TRIGGERS.values(), *(["audit_log_no_truncate"] if postgres else [])]
    for name in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON audit_log" if postgres else ""))
    if postgres:
        op.execute(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")


def add_credential_scopes() -> None:
    """``staff_credentials.scopes``: an API token's scopes (JSON list); null, as every existing row
    stays, means the role's full rights, so tokens issued before keep working."""
    op.add_column("staff_credentials", sa.Column("scopes", sa.JSON(), nullable=True))


def drop_credential_scopes() -> None:
    op.drop_column("staff_credentials", "scopes")
