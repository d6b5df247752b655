"""Use cases for staff members and their bearer tokens."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.principal import ROLES
from kapbook_platform.staff.tokens import new_staff_token, token_digest


@dataclass(frozen=True)
class IssuedToken:
    staff_id: str
    credential_id: str
    token: str


def issue_staff_token(
    sessions: sessionmaker[Session], outbox: Outbox, name: str, email: str, role: str, now: datetime
) -> IssuedToken:
    """Create the staff member if new, issue a bearer token, and tell the other services its digest."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = new_staff_token()
    credential_id = str(uuid.uuid4())
    with sessions.begin() as session:
        staff_id = _staff_id(session, name, email.lower(), role, now)
        row = {
            "credential_id": credential_id,
            "staff_id": staff_id,
            "staff_name": name,
            "role": role,
            "token_sha256": token_digest(token),
            "issued_at": now,
        }
        repo.insert_staff_credential(session, row)
        outbox.add(session, EventType.STAFF_CREDENTIAL_ISSUED, row | {"issued_at": now.isoformat()})
    return IssuedToken(staff_id, credential_id, token)


def _staff_id(session: Session, name: str, email: str, role: str, now: datetime) -> str:
    existing = repo.staff_member_id_by_email(session, email)
    if existing:
        return existing
    staff_id = str(uuid.uuid4())
    repo.insert_staff_member(session, {"id": staff_id, "name": name, "email": email, "role": role, "created_at": now})
    return staff_id
