"""Secrets the booking service must read back (webhook signing secrets, staff TOTP secrets,
CalDAV passwords), encrypted at rest.

Each use has its own key, derived from BOOKING_SECRET_KEY with its own label, so a stolen database
alone does not reveal the secrets. Changing BOOKING_SECRET_KEY makes stored secrets unreadable:
rotate every webhook's secret and reset two-step verification afterwards.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

LABEL = b"kapbook-booking/webhook-secrets/v1"
TOTP_LABEL = b"kapbook-booking/totp-secrets/v1"
CALDAV_LABEL = b"kapbook-booking/caldav-passwords/v1"
# Every Fernet token starts with its version byte 0x80, which base64 writes as "gAAAAA".
SEALED_PREFIX = "gAAAAA"


class SealedSecretUnreadable(RuntimeError):
    """The stored secret was sealed with another BOOKING_SECRET_KEY."""


def is_sealed(stored: str) -> bool:
    """Whether ``stored`` is a sealed secret (a base32 TOTP secret from before sealing never is)."""
    return stored.startswith(SEALED_PREFIX)


class SecretBox:
    def __init__(self, service_secret: str, label: bytes = LABEL) -> None:
        key = hmac.new(service_secret.encode(), label, hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealedSecretUnreadable("secret sealed with another BOOKING_SECRET_KEY") from None


class TotpSecrets:
    """Staff TOTP secrets, sealed at rest under their own key.

    A secret stored before sealing existed is plain base32: it is read as it is, and the caller
    seals it the next time it is used (``needs_sealing``).
    """

    def __init__(self, service_secret: str) -> None:
        self._box = SecretBox(service_secret, TOTP_LABEL)

    def seal(self, secret: str) -> str:
        return self._box.seal(secret)

    def open(self, stored: str | None) -> str | None:
        """The secret, or None when there is none or it was sealed under another BOOKING_SECRET_KEY
        (then no code matches: the staff member uses a recovery code or has two-step reset)."""
        if stored is None or not is_sealed(stored):
            return stored
        try:
            return self._box.open(stored)
        except SealedSecretUnreadable:
            return None

    @staticmethod
    def needs_sealing(stored: str | None) -> bool:
        return stored is not None and not is_sealed(stored)
