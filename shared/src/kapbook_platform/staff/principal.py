"""Who a staff request acts as, resolved from a bearer token against a service's credential table."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from kapbook_platform.clock import utc_now
from kapbook_platform.staff.tokens import token_digest

ROLES = ("admin", "clinician", "front_desk")
# A console session's delegate credential (booking mints it; only the booking server can present it).
DELEGATE_CREDENTIAL_PREFIX = "console-"


@dataclass(frozen=True)
class StaffPrincipal:
    staff_id: str
    name: str
    role: str
    credential_id: str
    scopes: tuple[str, ...] | None = None  # an API token's scopes; None: the role's full rights (kapbook_platform.staff.scopes)

    @property
    def is_console_delegate(self) -> bool:
        """Whether the request comes from the booking console on behalf of a signed-in staff member."""
        return self.credential_id.startswith(DELEGATE_CREDENTIAL_PREFIX)


def authenticate(session: Session, table: Table, token: str, now: datetime | None = None) -> StaffPrincipal | None:
    """The staff member a bearer token belongs to, or None if it is unknown, revoked or expired at ``now``."""
    row = session.execute(select(table).where(table.c.token_sha256 == token_digest(token))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    if row["expires_at"] is not None and row["expires_at"] <= (now or utc_now()):
        return None
    scopes = tuple(row["scopes"]) if row["scopes"] is not None else None
    return StaffPrincipal(row["staff_id"], row["staff_name"], row["role"], row["credential_id"], scopes)
