"""Two-step verification: TOTP codes (RFC 6238, 30 s steps, 6 digits) and recovery codes.

Pure: the moment and the secrets are passed in. A code is accepted one step either side of now
(clocks of phones drift) and only for a step later than the last one accepted, so a code seen
over someone's shoulder cannot be used again.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp

ISSUER = "Kapbook"
RECOVERY_CODES = 10
DRIFT_STEPS = 1
_CODE = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, base32, what authenticator apps expect


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for around ``now`` and later than ``last_step``, else None."""
    code = normalise(code)
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten random codes such as ``7f3a9-c21e0`` (40 bits each), shown once."""
    return [f"{part[:5]}-{part[5:]}" for part in (secrets.token_hex(5) for _ in range(RECOVERY_CODES))]


def normalise(code: str) -> str:
    """What the person typed, without spaces or case (``7F3A9 C21E0`` is ``7f3a9c21e0``)."""
    return re.sub(r"[\s-]", "", code).lower()


def recovery_digest(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()
