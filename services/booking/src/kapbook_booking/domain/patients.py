"""Returning patients: one record per verified email, passwordless sign-in links and sessions.

Pure rules only: how an email is normalised, how secrets are stored (hashed), when a link or a
session stops working, and what a screening decision means for a patient (valid until a date, or
expired). Time always comes in as an argument.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from kapbook_booking.domain.errors import Forbidden

SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)
SESSION_IDLE = timedelta(minutes=30)
# A widget proof lives in the widget (sessionStorage of the clinic's page): short-lived, never extended.
WIDGET_PROOF_LIFETIME = timedelta(minutes=30)
# The emailed link returns to the widget's page with a one-time hand-off code in the URL fragment,
# exchanged at once for a proof: a copy of the address (history, an analytics tool) is useless.
HANDOFF_LIFETIME = timedelta(minutes=5)
SECRET_BYTES = 32


class SignInLinkUnusable(Forbidden):
    """Reused, expired or never ours: one answer for all three, so nothing is learnt from it."""

    code = "sign_in_link_unusable"


class NotSignedIn(Forbidden):
    code = "not_signed_in"


class PatientProofInvalid(Forbidden):
    """A widget proof that is unknown, expired or for another email address."""

    code = "patient_proof_invalid"


def normalise_email(email: str) -> str:
    """``  Pat@Example.org `` and ``pat@example.org`` are one patient."""
    return email.strip().lower()


def new_secret() -> str:
    """A random URL-safe secret (sign-in token, session id, widget proof)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def secret_hash(secret: str) -> str:
    """What the database keeps of a secret: its SHA-256, so a leaked table signs nobody in."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def link_usable(expires_at: datetime, used_at: datetime | None, now: datetime) -> bool:
    """A sign-in link works once, until it expires."""
    return used_at is None and now < expires_at


def session_alive(last_seen_at: datetime, now: datetime, idle: timedelta = SESSION_IDLE) -> bool:
    """A session ends after ``idle`` without a request."""
    return now - last_seen_at < idle


@dataclass(frozen=True)
class ScreeningStatus:
    """What a patient may know of their latest screening decision: a flag and its expiry, never answers.

    ``state`` is ``valid`` (an allowed decision usable until ``valid_until``), ``expired`` (the latest
    allowed decision is too old: they will be asked again) or ``none``.
    """

    state: str
    decided_at: datetime | None = None
    valid_until: datetime | None = None
    screening_id: str | None = None


NO_SCREENING = ScreeningStatus("none")


def screening_status(decisions: list[tuple[str, bool, datetime, datetime]], now: datetime, valid_days: int) -> ScreeningStatus:
    """The status from a patient's decisions ``(screening_id, allowed, decided_at, valid_until)``.

    A decision is usable until the earlier of its own ``valid_until`` and ``decided_at`` plus the
    clinic's validity (the booking gate's rule). The usable one lasting longest wins; else the most
    recent allowed one is reported as expired; decisions that do not allow treatment are not shown.
    """
    allowed = [(sid, decided, min(until, decided + timedelta(days=valid_days))) for sid, ok, decided, until in decisions if ok]
    if not allowed:
        return NO_SCREENING
    valid = [entry for entry in allowed if entry[2] > now]
    if valid:
        sid, decided, until = max(valid, key=lambda entry: entry[2])
        return ScreeningStatus("valid", decided, until, sid)
    sid, decided, until = max(allowed, key=lambda entry: entry[1])
    return ScreeningStatus("expired", decided, until, None)
