"""Staff password hashes (argon2id, argon2-cffi's RFC 9106 low-memory profile) and the bundled list
of common passwords the policy refuses."""
from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id, time_cost 3, 64 MiB, parallelism 4


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled most-common passwords, lower-case (``common_passwords.txt`` beside this module)."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def hash_password(password: str) -> str:
    """An argon2id hash in the PHC string format (salt and parameters inside)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a malformed hash never matches."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at the next sign-in)."""
    return _HASHER.check_needs_rehash(password_hash)
