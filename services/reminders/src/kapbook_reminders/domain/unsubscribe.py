"""Unsubscribe tokens: a link only the recipient of the email can use.

The token carries the address and an HMAC over it, so the link needs no database lookup
and cannot be forged or enumerated (``?email=`` would let anyone unsubscribe anyone).
Tokens do not expire: an old follow-up's link must keep working.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

PURPOSE = b"kapbook-reminders-unsubscribe:"
MAC_BYTES = 16


def normalise_email(email: str) -> str:
    return email.strip().lower()


def unsubscribe_token(email: str, key: bytes) -> str:
    """'<address>.<mac>', both base64url without padding."""
    address = normalise_email(email).encode("utf-8")
    return f"{_encode(address)}.{_encode(_mac(address, key))}"


def email_from_token(token: str, *keys: bytes) -> str | None:
    """The address a genuine token was made for under any of ``keys`` (a rotation list), or None."""
    encoded_address, _, encoded_mac = token.partition(".")
    try:
        address, mac = _decode(encoded_address), _decode(encoded_mac)
    except (binascii.Error, ValueError):
        return None
    if not any(hmac.compare_digest(mac, _mac(address, key)) for key in keys):
        return None
    try:
        return address.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _mac(address: bytes, key: bytes) -> bytes:
    return hmac.new(key, PURPOSE + address, hashlib.sha256).digest()[:MAC_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    if not text or len(text) > 1000:
        raise ValueError("not a token part")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
