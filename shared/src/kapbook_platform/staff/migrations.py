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


def add_credential_scopes() -> None:
    """``staff_credentials.scopes``: an API token's scopes (JSON list); null, as every existing row
    stays, means the role's full rights, so tokens issued before keep working."""
    op.add_column("staff_credentials", sa.Column("scopes", sa.JSON(), nullable=True))


def drop_credential_scopes() -> None:
    op.drop_column("staff_credentials", "scopes")
