"""Secrets the booking service must read back (webhook signing secrets), encrypted at rest.

The key is derived from BOOKING_SECRET_KEY (HKDF-style, labelled for this use only), so a stolen
database alone does not reveal the secrets. Changing BOOKING_SECRET_KEY makes stored secrets
unreadable: rotate every webhook's secret afterwards.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

LABEL = b"kapbook-booking/webhook-secrets/v1"


class SealedSecretUnreadable(RuntimeError):
    """The stored secret was sealed with another BOOKING_SECRET_KEY."""


class SecretBox:
    def __init__(self, service_secret: str) -> None:
        key = hmac.new(service_secret.encode(), LABEL, hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealedSecretUnreadable("webhook secret sealed with another BOOKING_SECRET_KEY") from None
