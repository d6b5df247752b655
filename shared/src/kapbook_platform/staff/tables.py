"""The staff tables every service has in its own database."""
from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table

from kapbook_platform.database import UtcDateTime


def staff_credentials_table(metadata: MetaData) -> Table:
    return Table(
        "staff_credentials",
        metadata,
        Column("credential_id", String(64), primary_key=True),
        Column("staff_id", String(64), nullable=False),
        Column("staff_name", String(200), nullable=False),
        Column("role", String(20), nullable=False),
        Column("token_sha256", String(64), nullable=False, unique=True),
        Column("issued_at", UtcDateTime(), nullable=False),
        Column("revoked_at", UtcDateTime(), nullable=True),
        Column("expires_at", UtcDateTime(), nullable=True),  # null: never (console session delegates end with their session)
        Column("scopes", JSON, nullable=True),  # list of kapbook_platform.staff.scopes.SCOPES; null: the role's full rights
    )


def staff_credential_tombstones_table(metadata: MetaData) -> Table:
    """Every revoked credential id, kept for good: an "issued" event that arrives after (or again after)
    its "revoked" event finds the tombstone and can never bring the credential back."""
    return Table(
        "staff_credential_tombstones",
        metadata,
        Column("credential_id", String(64), primary_key=True),
        Column("revoked_at", UtcDateTime(), nullable=False),
    )


def audit_log_table(metadata: MetaData) -> Table:
    """Who did or saw what, when: one row an action, never the content itself."""
    return Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UtcDateTime(), nullable=False),
        Column("actor", String(100), nullable=False),
        Column("action", String(100), nullable=False),
        Column("target", String(200), nullable=False),
        Column("detail", JSON, nullable=True),
        Index("ix_audit_target", "target"),
    )
