"""Check-in links: the reminders service writes them into emails, the eligibility service opens them.

The token is a Fernet token (AES-CBC + HMAC-SHA256) over the few ids the check-in page needs, so it
is unguessable, cannot be altered, and shows nothing to whoever reads the URL (an access log, a
proxy): the patient's address travels inside it encrypted. Both services derive the same key from
their shared secret unless ``KAPBOOK_CHECK_IN_LINK_KEYS`` names keys (the first writes, every one
opens: rotation by prepending).

Nothing clinical is in a token: which booking, which occasion, who, and until when it works.
"""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kapbook_platform.config import ConfigError

MAX_TOKEN_LENGTH = 2000


class CheckInOccasion(StrEnum):
    BEFORE_DOSE = "before_dose"
    AFTER_INTEGRATION = "after_integration"


@dataclass(frozen=True)
class CheckInLink:
    """What a check-in link stands for."""

    booking_id: str
    occasion: CheckInOccasion
    patient_email: str
    patient_name: str
    session_start: datetime  # the dosing or integration session the check-in belongs to
    expires_at: datetime

    def to_json(self) -> bytes:
        return json.dumps({"b": self.booking_id, "o": self.occasion.value, "e": self.patient_email,
                           "n": self.patient_name, "s": self.session_start.isoformat(),
                           "x": self.expires_at.isoformat()}, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CheckInLink:
        data = json.loads(raw)
        return cls(data["b"], CheckInOccasion(data["o"]), data["e"], data["n"],
                   datetime.fromisoformat(data["s"]), datetime.fromisoformat(data["x"]))


def check_in_link_keys(configured: Sequence[str], service_token: str) -> tuple[str, ...]:
    """Fernet keys for check-in links: the configured ones, then the one derived from the service token."""
    digest = hashlib.sha256(b"kapbook-check-in-link-key:" + service_token.encode("utf-8")).digest()
    return (*configured, base64.urlsafe_b64encode(digest).decode("ascii"))


def make_check_in_token(link: CheckInLink, keys: Sequence[str]) -> str:
    """The token of ``link``, under the first key."""
    return Fernet(keys[0]).encrypt(link.to_json()).decode("ascii")


def open_check_in_token(token: str, keys: Sequence[str], now: datetime) -> CheckInLink | None:
    """The link a genuine, unexpired token stands for, or None (forged, altered, expired, garbage)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    try:
        link = CheckInLink.from_json(MultiFernet([Fernet(key) for key in keys]).decrypt(token.encode("ascii")))
    except (InvalidToken, ValueError, KeyError, TypeError):
        return None
    return link if now.astimezone(UTC) < link.expires_at else None


def check_fernet_keys(env: str, keys: Sequence[str]) -> None:
    """Raise ConfigError naming the position (never the value) of a key that is not a Fernet key."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(f"{env}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)") from None
