"""Staff bearer tokens: made once, shown once, stored only as their SHA-256 digest."""
from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "kbs_"


def new_staff_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
