"""Use cases of two-step verification: enrolling an authenticator, confirming it, resetting it.

Enrolment makes a secret and keeps it pending until the staff member proves their app has it
(a valid code); then ten recovery codes are made, shown once and stored only as SHA-256. Changing
two-step verification needs a recent password (``ConsoleSessions.confirm_recent``), checked by
the caller before these run.
"""
from __future__ import annotations

from dataclasses import dataclass

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters.secret_box import TotpSecrets
from kapbook_booking.domain import two_step
from kapbook_booking.service_layer.errors import Conflict, Invalid, NotFound
from kapbook_booking.service_layer.staff_records import StaffWrites
from kapbook_platform.clock import Clock
from kapbook_platform.staff.audit import record_audit


class AlreadyEnrolled(Conflict):
    code = "two_step_enabled"


class WrongCode(Invalid):
    code = "wrong_code"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str  # otpauth://, for the QR code
    email: str


@dataclass(frozen=True)
class TwoStepStatus:
    enabled: bool
    recovery_codes_left: int


@dataclass(frozen=True)
class TwoStep:
    writes: StaffWrites
    clock: Clock
    required: bool  # the clinic's setting: everyone must use two-step verification
    totp: TotpSecrets  # the secrets are sealed in the database

    def status(self, staff_id: str) -> TwoStepStatus:
        with self.writes.reading() as session:
            member = self._member(session, staff_id)
            left = repo.unused_recovery_codes(session, staff_id)
        return TwoStepStatus(member["totp_enabled_at"] is not None, left)

    def needs_enrolment(self, staff_id: str) -> bool:
        """True when the setting requires two-step verification and this staff member has none yet."""
        if not self.required:
            return False
        with self.writes.reading() as session:
            member = repo.staff_member_by_id(session, staff_id)
        return member is not None and member["totp_enabled_at"] is None

    def enrolment(self, staff_id: str) -> Enrolment:
        """The pending secret (made now if there is none) to show as a QR code and as text."""
        with self.writes.unit_of_work() as session:
            member = self._member(session, staff_id)
            if member["totp_enabled_at"] is not None:
                raise AlreadyEnrolled("Two-step verification is set up already.")
            pending = self.totp.open(member["totp_secret"])
            secret = pending or two_step.new_secret()
            if pending is None or self.totp.needs_sealing(member["totp_secret"]):
                repo.update_staff_member(session, staff_id, totp_secret=self.totp.seal(secret), totp_last_step=None)
        return Enrolment(secret, two_step.provisioning_uri(secret, member["email"]), member["email"])

    def confirm(self, staff_id: str, code: str) -> list[str]:
        """Turn two-step verification on once ``code`` matches the pending secret; the recovery codes."""
        now = self.clock()
        codes = two_step.new_recovery_codes()
        with self.writes.unit_of_work() as session:
            member = self._member(session, staff_id)
            if member["totp_enabled_at"] is not None:
                raise AlreadyEnrolled("Two-step verification is set up already.")
            secret = self.totp.open(member["totp_secret"])
            step = two_step.matching_step(secret, code, now, None) if secret else None
            if step is None:
                raise WrongCode("That code does not match. Check the time on your phone and type the code it shows now.",
                                errors={"code": ["Does not match."]})
            repo.update_staff_member(session, staff_id, totp_enabled_at=now, totp_last_step=step)
            repo.replace_recovery_codes(session, staff_id, [two_step.recovery_digest(code) for code in codes])
            record_audit(session, self.writes.audit_log, staff_id, "staff.two_step_enabled", f"staff_member:{staff_id}")
        return codes

    def reset(self, staff_id: str) -> None:
        """Forget the authenticator and the recovery codes (to set up a new phone)."""
        with self.writes.unit_of_work() as session:
            self._member(session, staff_id)
            repo.update_staff_member(session, staff_id, totp_secret=None, totp_enabled_at=None, totp_last_step=None)
            repo.replace_recovery_codes(session, staff_id, [])
            record_audit(session, self.writes.audit_log, staff_id, "staff.two_step_reset", f"staff_member:{staff_id}")

    @staticmethod
    def _member(session, staff_id: str):
        member = repo.staff_member_by_id(session, staff_id)
        if member is None:
            raise NotFound("Two-step verification needs a staff account (sign in with email and password).")
        return member
