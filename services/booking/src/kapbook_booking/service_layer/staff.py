"""Use cases for staff members: their accounts and passwords, and their bearer tokens."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import passwords
from kapbook_booking.adapters import repository as repo
from kapbook_booking.domain.staff_passwords import check_password
from kapbook_booking.service_layer.errors import Conflict, Invalid, NotFound
from kapbook_booking.service_layer.staff_records import StaffWrites
from kapbook_platform.clock import Clock
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import ROLES, StaffPrincipal
from kapbook_platform.staff.scopes import normalized
from kapbook_platform.staff.signing import sign_credential_data
from kapbook_platform.staff.tokens import new_staff_token, token_digest


@dataclass(frozen=True)
class IssuedToken:
    staff_id: str
    credential_id: str
    token: str


def issue_staff_token(
    sessions: sessionmaker[Session], outbox: Outbox, name: str, email: str, role: str, now: datetime,
    expires_at: datetime | None = None, *, signing_key: str, scopes: Iterable[str] | None = None,
) -> IssuedToken:
    """Create the staff member if new, issue a bearer token (expiring at ``expires_at``, None: never; with
    ``scopes``, None: the role's full rights), and tell the other services its digest and scopes."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    chosen = normalized(scopes)
    with sessions.begin() as session:
        staff_id = _staff_id(session, name, email.lower(), role, now)
        return _issue(session, outbox, signing_key, staff_id, name, role, now, expires_at, chosen)


def _issue(session: Session, outbox: Outbox, signing_key: str, staff_id: str, name: str, role: str, now: datetime,
           expires_at: datetime | None, scopes: tuple[str, ...] | None) -> IssuedToken:
    """Store a new token's digest and scopes, and send the signed "issued" event, in ``session``."""
    token = new_staff_token()
    credential_id = str(uuid.uuid4())
    row = {
        "credential_id": credential_id,
        "staff_id": staff_id,
        "staff_name": name,
        "role": role,
        "token_sha256": token_digest(token),
        "issued_at": now,
        "expires_at": expires_at,
        "scopes": list(scopes) if scopes is not None else None,
    }
    repo.insert_staff_credential(session, row)
    outbox.add(session, EventType.STAFF_CREDENTIAL_ISSUED, sign_credential_data(
        signing_key, row | {"issued_at": now.isoformat(), "expires_at": expires_at.isoformat() if expires_at else None}))
    return IssuedToken(staff_id, credential_id, token)


def _staff_id(session: Session, name: str, email: str, role: str, now: datetime) -> str:
    existing = repo.staff_member_id_by_email(session, email)
    if existing:
        return existing
    staff_id = str(uuid.uuid4())
    repo.insert_staff_member(session, {"id": staff_id, "name": name, "email": email, "role": role, "created_at": now})
    return staff_id


# --- staff accounts with a password -------------------------------------------------------------


class StaffExists(Conflict):
    code = "staff_exists"


@dataclass(frozen=True)
class StaffAccounts:
    """Staff members who sign in with email and password: creating them and setting passwords.

    The password is checked against the policy (``domain.staff_passwords``) and hashed before the
    transaction opens: argon2id takes tens of milliseconds on purpose, no lock should wait for it.
    """

    writes: StaffWrites
    clock: Clock

    def members(self) -> list[dict]:
        with self.writes.reading() as session:
            return [_member(row) for row in repo.staff_members_by_name(session)]

    def create(self, actor: StaffPrincipal | None, name: str, email: str, role: str, password: str | None,
               clinician_id: str | None = None) -> dict:
        """A new staff member (409 ``staff_exists`` if the email is taken), linked to ``clinician_id``
        when given (see ``link_clinician``); audited as ``actor``."""
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}", errors={"role": [f"One of {', '.join(ROLES)}."]})
        password_hash = _hashed(password) if password is not None else None
        now = self.clock()
        email = email.strip().lower()
        with self.writes.unit_of_work() as session:
            if repo.staff_member_id_by_email(session, email):
                raise StaffExists("A staff member with this email exists already.", errors={"email": ["Already in use."]})
            if clinician_id is not None:
                _check_link(session, role, clinician_id, None)
            staff_id = str(uuid.uuid4())
            repo.insert_staff_member(session, {"id": staff_id, "name": name, "email": email, "role": role, "created_at": now,
                                               "password_hash": password_hash, "password_changed_at": now if password_hash else None,
                                               "clinician_id": clinician_id})
            fields = ["name", "email", "role"] + (["password"] if password_hash else []) + (["clinician_id"] if clinician_id else [])
            if actor is not None:
                self.writes.audit(session, actor, "staff_member.created", f"staff_member:{staff_id}", fields)
            else:
                record_audit(session, self.writes.audit_log, "cli", "staff_member.created", f"staff_member:{staff_id}", {"fields": fields})
        return self.member(staff_id)

    def member(self, staff_id: str) -> dict:
        with self.writes.reading() as session:
            row = next((row for row in repo.staff_members_by_name(session) if row["id"] == staff_id), None)
        if row is None:
            raise NotFound("No such staff member.")
        return _member(row)

    def link_clinician(self, actor: StaffPrincipal | None, staff_id: str, clinician_id: str | None) -> dict:
        """Link a staff member of role clinician to a clinician record (None: unlink): they then manage
        that schedule. 422 for another role or an unknown clinician, 409 ``clinician_taken`` if
        another account is linked to it; audited as ``actor`` (None: the CLI)."""
        with self.writes.unit_of_work() as session:
            row = repo.staff_member_by_id(session, staff_id)
            if row is None:
                raise NotFound("No such staff member.")
            if clinician_id is not None:
                _check_link(session, row["role"], clinician_id, staff_id)
            repo.update_staff_member(session, staff_id, clinician_id=clinician_id)
            action, target = "staff_member.clinician_linked", f"staff_member:{staff_id}"
            if actor is not None:
                self.writes.audit(session, actor, action, target, ["clinician_id"])
            else:
                record_audit(session, self.writes.audit_log, "cli", action, target, {"fields": ["clinician_id"]})
        return self.member(staff_id)

    def set_password(self, email: str, password: str, actor: str = "cli") -> str:
        """Give the staff member with ``email`` a new password; returns their id (404 if none)."""
        password_hash = _hashed(password)
        with self.writes.unit_of_work() as session:
            row = repo.staff_member_by_email(session, email.strip().lower())
            if row is None:
                raise NotFound("No staff member has this email.")
            repo.set_staff_password_hash(session, row["id"], password_hash, self.clock())
            record_audit(session, self.writes.audit_log, actor, "staff_member.password_set", f"staff_member:{row['id']}")
        return row["id"]


class ClinicianTaken(Conflict):
    code = "clinician_taken"


def _check_link(session: Session, role: str, clinician_id: str, staff_id: str | None) -> None:
    """Only a clinician's account links to a clinician record, which must exist and be unclaimed."""
    if role != "clinician":
        raise Invalid("Only staff members with the clinician role are linked to a clinician.",
                      errors={"clinician_id": ["Needs the clinician role."]})
    if not repo.clinician_exists(session, clinician_id):
        raise Invalid("No such clinician.", errors={"clinician_id": ["No such clinician."]})
    holder = repo.staff_member_id_by_clinician(session, clinician_id)
    if holder is not None and holder != staff_id:
        raise ClinicianTaken("Another staff account is linked to this clinician already.",
                             errors={"clinician_id": ["Linked to another account."]})


def _hashed(password: str) -> str:
    check_password(password, passwords.common_passwords())
    return passwords.hash_password(password)


def _member(row) -> dict:
    values = {key: row[key] for key in ("id", "name", "email", "role", "clinician_id", "created_at")}
    return values | {"has_password": row["password_changed_at"] is not None}


# --- API tokens: listing and revoking ---------------------------------------------------------


class TokenNotFound(NotFound):
    code = "token_not_found"


@dataclass(frozen=True)
class StaffTokens:
    """The API tokens (not console session delegates): listed for admins, revoked everywhere by event."""

    writes: StaffWrites
    outbox: Outbox
    clock: Clock
    signing_key: str  # signs the revocation events (finding 7)

    def tokens(self) -> list[dict]:
        now = self.clock()
        with self.writes.reading() as session:
            rows = repo.api_tokens(session)
        return [dict(row) | {"status": _token_status(row, now)} for row in rows]

    def issue(self, actor: StaffPrincipal, staff_id: str, scopes: Iterable[str], expires_days: int) -> IssuedToken:
        """A new API token for an existing staff member, with ``scopes`` (at least one) and an expiry;
        the token is in the answer only (shown once). Audited with its scopes."""
        try:
            chosen = normalized(list(scopes))
        except ValueError as error:
            raise Invalid(str(error), errors={"scopes": [str(error)]}) from None
        if not 1 <= expires_days <= 3650:
            raise Invalid("expires_days must be 1 to 3650", errors={"expires_days": ["1 to 3650 days."]})
        now = self.clock()
        with self.writes.unit_of_work() as session:
            member = next((row for row in repo.staff_members_by_name(session) if row["id"] == staff_id), None)
            if member is None:
                raise NotFound("No such staff member.")
            issued = _issue(session, self.outbox, self.signing_key, staff_id, member["name"], member["role"], now,
                            now + timedelta(days=expires_days), chosen)
            self.writes.audit(session, actor, "staff_token.issued", f"staff_token:{issued.credential_id}", list(chosen))
        return issued

    def revoke(self, actor: str, credential_id: str) -> dict:
        """Revoke a token here at once and, through its event, in every other service within seconds."""
        now = self.clock()
        with self.writes.unit_of_work() as session:
            if credential_id.startswith("console-") or not repo.api_token_exists(session, credential_id):
                raise TokenNotFound("No API token has this id.")
            for revoked in repo.revoke_staff_credentials(session, [credential_id], now):
                self.outbox.add(session, EventType.STAFF_CREDENTIAL_REVOKED, sign_credential_data(
                    self.signing_key, {"credential_id": revoked, "revoked_at": now.isoformat()}))
            record_audit(session, self.writes.audit_log, actor, "staff_token.revoked", f"staff_token:{credential_id}")
        return next(token for token in self.tokens() if token["credential_id"] == credential_id)


def _token_status(row, now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return "active"
