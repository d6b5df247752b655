"""Use cases of "forgot my password": a one-time link by email, and choosing a new password with it.

The link carries a random secret; only its SHA-256 is stored, it works once and for 30 minutes.
It travels to the reminders service in a ``staff.password_reset_link`` event (the outbox, like
every email), which sends it at once. Asking answers the same whether or not the email has an
account, and at most three links are live per account (no inbox flooding). Using a link ends
every console session of that person.
"""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from kapbook_booking.adapters import passwords
from kapbook_booking.adapters import repository as repo
from kapbook_booking.domain.staff_passwords import check_password
from kapbook_booking.service_layer.console_sessions import ConsoleSessions
from kapbook_booking.service_layer.errors import Forbidden
from kapbook_booking.service_layer.staff_records import StaffWrites
from kapbook_platform.clock import Clock
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.tokens import token_digest

LINK_LIFETIME = timedelta(minutes=30)
MAX_LIVE_LINKS = 3
RESET_PATH = "/staff/reset-password/"


class ResetLinkInvalid(Forbidden):
    code = "reset_link_invalid"


@dataclass(frozen=True)
class PasswordResets:
    writes: StaffWrites
    outbox: Outbox
    console_sessions: ConsoleSessions
    public_base_url: str
    clock: Clock

    def request(self, email: str, ip: str | None) -> None:
        """Email a reset link if ``email`` has an account (and not too many links are live); nothing says which."""
        now = self.clock()
        secret = secrets.token_urlsafe(32)
        with self.writes.unit_of_work() as session:
            member = repo.staff_member_by_email(session, email.strip().lower())
            target = f"staff_member:{member['id']}" if member is not None else "staff_member:unknown"
            sent = member is not None and repo.live_password_resets(session, member["id"], now) < MAX_LIVE_LINKS
            if sent:
                reset_id = str(uuid.uuid4())
                repo.insert_password_reset(session, {"id": reset_id, "staff_id": member["id"], "secret_sha256": token_digest(secret),
                                                     "created_at": now, "expires_at": now + LINK_LIFETIME})
                self.outbox.add(session, EventType.STAFF_PASSWORD_RESET_LINK, {
                    "reset_id": reset_id, "email": member["email"], "name": member["name"],
                    "link_url": self.public_base_url.rstrip("/") + RESET_PATH + secret,
                    "expires_at": (now + LINK_LIFETIME).isoformat()})
            record_audit(session, self.writes.audit_log, "anonymous", "staff.password_reset_requested", target,
                         {"ip": ip, "sent": sent})

    def is_live(self, secret: str) -> bool:
        with self.writes.reading() as session:
            return repo.live_password_reset(session, token_digest(secret), self.clock()) is not None

    def reset(self, secret: str, new_password: str, ip: str | None) -> None:
        """Set the new password (the policy's 422 first), spend the link, end every session of theirs."""
        check_password(new_password, passwords.common_passwords())
        password_hash = passwords.hash_password(new_password)
        now = self.clock()
        with self.writes.unit_of_work() as session:
            row = repo.live_password_reset(session, token_digest(secret), now)
            if row is None or not repo.spend_password_reset(session, row["id"], now):
                raise ResetLinkInvalid("This link has expired or was used already. Ask for a new one.")
            repo.set_staff_password_hash(session, row["staff_id"], password_hash, now)
            record_audit(session, self.writes.audit_log, row["staff_id"], "staff.password_reset", f"staff_member:{row['staff_id']}",
                         {"ip": ip})
        self.console_sessions.sign_out_everywhere(row["staff_id"])
