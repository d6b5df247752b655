"""Signing staff in to the console with email and password, and their server-side sessions.

The browser's cookie holds a random secret; the ``staff_sessions`` row holds only its SHA-256,
with who, when (created, last seen), the IP and the user agent. A session ends on sign-out, on
"sign out everywhere", after ``policy.idle`` without a request and ``policy.absolute`` after it
began.

The console calls the eligibility and reminders services on the staff member's behalf. For that
each session has a *delegate* bearer credential, derived from the cookie's secret under the
booking service's key (so it is never stored, and never reaches the browser), published like
any staff credential and revoked when the session ends.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters.passwords import hash_password, verify_password
from kapbook_booking.adapters.secret_box import TotpSecrets
from kapbook_booking.domain import two_step
from kapbook_booking.domain.console_sessions import SessionPolicy
from kapbook_booking.domain.lockout import LockoutPolicy
from kapbook_booking.service_layer.errors import Forbidden
from kapbook_booking.service_layer.staff_records import StaffWrites
from kapbook_platform.clock import Clock
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import DELEGATE_CREDENTIAL_PREFIX, StaffPrincipal
from kapbook_platform.staff.signing import sign_credential_data
from kapbook_platform.staff.tokens import TOKEN_PREFIX, token_digest

DELEGATE_PREFIX = DELEGATE_CREDENTIAL_PREFIX  # credential id of a session's delegate: console-<session id>
REAUTHENTICATION_WINDOW = timedelta(minutes=5)  # sensitive actions need a password typed this recently
REFUSED = "That email and password do not match a staff account, or the account cannot sign in."
LOCKED = "Too many failed sign-ins for this account or from this network. Please wait {minutes} minutes and try again."


class SignInRefused(Forbidden):
    code = "sign_in_refused"


class SignInLocked(SignInRefused):
    """Too many failures for this email or from this address: refused for a while, password unread."""

    code = "sign_in_locked"


@dataclass(frozen=True)
class SignedIn:
    secret: str  # goes into the cookie once; never stored
    principal: StaffPrincipal


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown emails' passwords against, so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(24))


@dataclass(frozen=True)
class ConsoleSessions:
    writes: StaffWrites
    outbox: Outbox
    secret_key: str
    signing_key: str  # signs the delegate credential events (finding 7)
    policy: SessionPolicy
    clock: Clock
    lockout: LockoutPolicy = LockoutPolicy()

    @functools.cached_property
    def totp_secrets(self) -> TotpSecrets:
        return TotpSecrets(self.secret_key)

    def sign_in(self, email: str, password: str, ip: str | None, user_agent: str | None, code: str = "") -> SignedIn:
        """A new session for the staff member with this email and password (and, once they have set up
        two-step verification, a current code or an unused recovery code); ``SignInRefused`` otherwise:
        the same answer, in about the same time, whether or not the email exists."""
        email_key = token_digest(email.strip().lower())
        now = self.clock()
        with self.writes.reading() as session:
            member = repo.staff_member_by_email(session, email.strip().lower())
            failures = repo.sign_in_failures_since(session, email_key, ip, now - self.lockout.window)
        target = f"staff_member:{member['id']}" if member is not None else "staff_member:unknown"
        if self.lockout.locked(*failures):
            with self.writes.unit_of_work() as session:
                record_audit(session, self.writes.audit_log, "anonymous", "staff.sign_in_locked", target, {"ip": ip})
            raise SignInLocked(LOCKED.format(minutes=int(self.lockout.window.total_seconds() // 60)))
        stored = member["password_hash"] if member is not None else None
        matches = verify_password(stored or _dummy_hash(), password) and stored is not None
        secret = secrets.token_urlsafe(32)
        session_id = str(uuid.uuid4())
        with self.writes.unit_of_work() as session:
            failure = "password" if not matches else None
            if failure is None and member["totp_enabled_at"] is not None and not self._second_factor(session, member, code, now):
                failure = "second_factor"
            if failure is not None:
                repo.record_sign_in_failure(session, email_key, (ip or "")[:64] or None, now)
                record_audit(session, self.writes.audit_log, "anonymous", "staff.sign_in_failed", target,
                             {"ip": ip, "failed": failure})
            else:
                repo.clear_sign_in_failures(session, email_key, now - self.lockout.window)
                principal = self._open(session, member, secret, session_id, ip, user_agent, now)
        if failure is not None:
            raise SignInRefused(REFUSED)
        return SignedIn(secret, principal)

    def _second_factor(self, session: Session, member, code: str, now: datetime) -> bool:
        """A TOTP code for a step not used before, or an unused recovery code (then spent)."""
        stored = member["totp_secret"]
        secret = self.totp_secrets.open(stored)
        step = two_step.matching_step(secret, code, now, member["totp_last_step"]) if secret else None
        if step is not None:
            # A secret stored before sealing existed is sealed now that it is in use.
            sealed = {"totp_secret": self.totp_secrets.seal(secret)} if self.totp_secrets.needs_sealing(stored) else {}
            repo.update_staff_member(session, member["id"], totp_last_step=step, **sealed)
            return True
        return len(two_step.normalise(code)) == 10 and repo.use_recovery_code(
            session, member["id"], two_step.recovery_digest(code), now)

    def _open(self, session: Session, member, secret: str, session_id: str, ip: str | None, user_agent: str | None,
              now: datetime) -> StaffPrincipal:
        principal = StaffPrincipal(member["id"], member["name"], member["role"], DELEGATE_PREFIX + session_id)
        self._end(session, repo.lapsed_console_session_ids(session, now - self.policy.idle, now - self.policy.absolute), now)
        repo.insert_console_session(session, {
            "id": session_id, "staff_id": member["id"], "secret_sha256": token_digest(secret), "created_at": now,
            "last_seen_at": now, "authenticated_at": now, "ip": (ip or "")[:64] or None,
            "user_agent": (user_agent or "")[:300] or None})
        credential = {"credential_id": principal.credential_id, "staff_id": member["id"], "staff_name": member["name"],
                      "role": member["role"], "token_sha256": token_digest(self.delegate_token(secret)), "issued_at": now}
        repo.insert_staff_credential(session, credential)
        self.outbox.add(session, EventType.STAFF_CREDENTIAL_ISSUED,
                        sign_credential_data(self.signing_key, credential | {"issued_at": now.isoformat()}))
        record_audit(session, self.writes.audit_log, member["id"], "staff.signed_in", f"staff_member:{member['id']}",
                     {"ip": ip, "session": session_id})
        return principal

    def recently_authenticated(self, secret: str | None) -> bool:
        """Whether this session's password was typed within the re-authentication window."""
        if not secret:
            return False
        with self.writes.reading() as session:
            row = repo.console_session_by_digest(session, token_digest(secret))
        return row is not None and self.clock() - row["authenticated_at"] <= REAUTHENTICATION_WINDOW

    def confirm_recent(self, secret: str | None, password: str) -> bool:
        """For a sensitive action: True if the password was typed recently, or ``password`` is right now
        (which restarts the window); a session-less caller (a bearer token) never qualifies."""
        if self.recently_authenticated(secret):
            return True
        if not secret or not password:
            return False
        with self.writes.reading() as session:
            row = repo.console_session_by_digest(session, token_digest(secret))
            member = repo.staff_member_by_id(session, row["staff_id"]) if row is not None else None
        if member is None or not member["password_hash"] or not verify_password(member["password_hash"], password):
            return False
        with self.writes.unit_of_work() as session:
            repo.set_session_authenticated(session, row["id"], self.clock())
        return True

    def resolve(self, secret: str) -> StaffPrincipal | None:
        """The staff member of a live session, or None; a session found lapsed is ended there and then."""
        now = self.clock()
        with self.writes.reading() as session:
            row = repo.console_session_by_digest(session, token_digest(secret))
        if row is None:
            return None
        if self.policy.ended(row["created_at"], row["last_seen_at"], now):
            with self.writes.unit_of_work() as session:
                self._end(session, [row["id"]], now)
            return None
        if self.policy.needs_touch(row["last_seen_at"], now):
            with self.writes.unit_of_work() as session:
                repo.touch_console_session(session, row["id"], now)
        return StaffPrincipal(row["staff_id"], row["staff_name"], row["role"], DELEGATE_PREFIX + row["id"])

    def sign_out(self, secret: str) -> None:
        now = self.clock()
        with self.writes.unit_of_work() as session:
            row = repo.console_session_by_digest(session, token_digest(secret))
            if row is not None:
                self._end(session, [row["id"]], now)
                record_audit(session, self.writes.audit_log, row["staff_id"], "staff.signed_out", f"staff_member:{row['staff_id']}")

    def sign_out_everywhere(self, staff_id: str) -> int:
        """End every session of ``staff_id`` (this one too); returns how many."""
        now = self.clock()
        with self.writes.unit_of_work() as session:
            ids = repo.console_session_ids(session, staff_id)
            self._end(session, ids, now)
            record_audit(session, self.writes.audit_log, staff_id, "staff.signed_out_everywhere", f"staff_member:{staff_id}",
                         {"sessions": len(ids)})
        return len(ids)

    def delegate_token(self, secret: str) -> str:
        """The bearer credential the console uses for this session towards the other services."""
        mac = hmac.new(self.secret_key.encode(), b"kapbook.console.delegate:" + secret.encode(), hashlib.sha256)
        return TOKEN_PREFIX + mac.hexdigest()

    def _end(self, session: Session, session_ids: list[str], now: datetime) -> None:
        """Delete the sessions and revoke their delegates everywhere (one event each)."""
        if not session_ids:
            return
        repo.delete_console_sessions(session, session_ids)
        for credential_id in repo.revoke_staff_credentials(session, [DELEGATE_PREFIX + id_ for id_ in session_ids], now):
            self.outbox.add(session, EventType.STAFF_CREDENTIAL_REVOKED, sign_credential_data(
                self.signing_key, {"credential_id": credential_id, "revoked_at": now.isoformat()}))
