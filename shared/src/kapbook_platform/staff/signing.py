"""Signatures on staff credential events (finding 7): only the booking service can make them.

Anyone who can publish to the broker could otherwise mint an admin credential by sending a
"credential issued" event. The booking service signs each credential event's data with an
Ed25519 private key that only it holds; eligibility and reminders verify with the public key and
refuse an event that is unsigned or whose signature does not match. (A shared HMAC key would let
every verifier forge events too; a signature key pair does not.)

Keys are 32 raw bytes, base64url without padding. The development pair below is public by
design; production refuses it.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_FIELD = "signature"
# sha256(b"kapbook development credential signing key") and its public key: for development and tests only.
DEVELOPMENT_SIGNING_KEY = "Si9FIfroLiB_pTutxKhOUgQiJCP1A87AOsg9IlHJKj8"
DEVELOPMENT_VERIFY_KEY = "L7R0YwPF6BXzyBI2YKAK-CPDAJOR8tzNSYHV8iA4DZw"


def _raw(key: str) -> bytes:
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signed_bytes(data: dict[str, Any]) -> bytes:
    """The canonical form signed: the data without its signature or null fields (the event schema
    adds absent optional fields as null on the way), keys sorted, no spaces."""
    unsigned = {key: value for key, value in data.items() if key != SIGNATURE_FIELD and value is not None}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def new_key_pair() -> tuple[str, str]:
    """A fresh (signing key, verify key) pair, e.g. for ``make compose-env``."""
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return _text(raw), verify_key_of(_text(raw))


def verify_key_of(signing_key: str) -> str:
    private = Ed25519PrivateKey.from_private_bytes(_raw(signing_key))
    return _text(private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def sign_credential_data(signing_key: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its ``signature`` (base64url Ed25519 over the canonical form)."""
    private = Ed25519PrivateKey.from_private_bytes(_raw(signing_key))
    return dict(data) | {SIGNATURE_FIELD: _text(private.sign(_signed_bytes(data)))}


def credential_data_is_signed(verify_key: str, data: dict[str, Any]) -> bool:
    """Whether ``data`` carries a valid signature by the holder of ``verify_key``'s private key."""
    signature = data.get(SIGNATURE_FIELD)
    if not isinstance(signature, str) or not signature:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(_raw(verify_key)).verify(_raw(signature), _signed_bytes(data))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def check_key(env: str, value: str, *, private: bool) -> str | None:
    """Why ``value`` is not a usable key for ``env`` (None when it is)."""
    try:
        raw = _raw(value)
        if len(raw) != 32:
            raise ValueError
        if private:
            Ed25519PrivateKey.from_private_bytes(raw)
        else:
            Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        kind = "signing" if private else "verify"
        return f"{env} must be a 32-byte Ed25519 {kind} key, base64url (make compose-env writes a pair)"
    return None
