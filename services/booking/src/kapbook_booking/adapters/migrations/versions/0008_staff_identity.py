"""staff identity: staff passwords and TOTP, staff_sessions, staff_recovery_codes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:30:00

Plain ADD COLUMN on both databases (no batch table copy on SQLite). Existing staff keep signing
in with their tokens until someone sets them a password (``kapbook-booking create-staff``).
``staff_sessions`` holds the console's server-side sessions (the cookie's secret only as SHA-256);
``staff_recovery_codes`` the two-step recovery codes (SHA-256 only); ``sign_in_failures`` the
failed sign-ins the lockout counts (the email as SHA-256 only); ``staff_password_resets`` the
one-time reset links (SHA-256 only). API tokens get an expiry (``staff_credentials.expires_at``),
and revoked credential ids a tombstone (``staff_credential_tombstones``).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import kapbook_platform.database
from kapbook_platform.staff.migrations import add_credential_expiry_and_tombstones, drop_credential_expiry_and_tombstones

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("staff_members", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.add_column("staff_members", sa.Column("password_changed_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=True))
    op.add_column("staff_members", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("staff_members", sa.Column("totp_enabled_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=True))
    op.add_column("staff_members", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("used_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_staff_recovery_codes_staff_id"), "staff_recovery_codes", ["staff_id"], unique=False)
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.Column("authenticated_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_sha256"),
    )
    op.create_index(op.f("ix_staff_sessions_staff_id"), "staff_sessions", ["staff_id"], unique=False)
    add_credential_expiry_and_tombstones()
    op.create_table(
        "staff_password_resets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_sha256"),
    )
    op.create_index(op.f("ix_staff_password_resets_staff_id"), "staff_password_resets", ["staff_id"], unique=False)
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", kapbook_platform.database.UtcDateTime(timezone=True), nullable=False),
        sa.Column("email_sha256", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failures_email", "sign_in_failures", ["email_sha256", "at"], unique=False)
    op.create_index("ix_sign_in_failures_ip", "sign_in_failures", ["ip", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_ip", table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_email", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index(op.f("ix_staff_password_resets_staff_id"), table_name="staff_password_resets")
    op.drop_table("staff_password_resets")
    drop_credential_expiry_and_tombstones()
    op.drop_index(op.f("ix_staff_sessions_staff_id"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_index(op.f("ix_staff_recovery_codes_staff_id"), table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_column("staff_members", "totp_last_step")
    op.drop_column("staff_members", "totp_enabled_at")
    op.drop_column("staff_members", "totp_secret")
    op.drop_column("staff_members", "password_changed_at")
    op.drop_column("staff_members", "password_hash")
