"""Encryption at rest of screening answers, results and review notes (Fernet, with key rotation).

Each value is sealed together with the name of what it belongs to (``screening:<id>:answers``),
and opening checks that name: a ciphertext copied into another row fails to open instead of
silently showing one patient's answers as another's.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealedValueUnreadable(RuntimeError):
    """A stored ciphertext opens with none of the configured keys, or belongs elsewhere."""


@dataclass
class FieldCipher:
    """Seals JSON values with the newest key and opens them with any configured key."""

    keys: Sequence[str]
    _fernets: list[Fernet] = field(init=False, repr=False)
    _multi: MultiFernet = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._fernets = [Fernet(key) for key in self.keys]
        self._multi = MultiFernet(self._fernets)

    def seal(self, context: str, value: Any) -> bytes:
        """Encrypt ``value`` (anything JSON can hold) for the place named ``context``."""
        plaintext = json.dumps({"context": context, "value": value}, separators=(",", ":"))
        return self._multi.encrypt(plaintext.encode())

    def open(self, context: str, token: bytes) -> Any:
        """Decrypt a value sealed for ``context``."""
        try:
            sealed = json.loads(self._multi.decrypt(bytes(token)))
        except InvalidToken:
            raise SealedValueUnreadable(f"{context} cannot be decrypted with the configured keys") from None
        if sealed.get("context") != context:
            raise SealedValueUnreadable(f"{context} holds a value sealed for another place")
        return sealed["value"]

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` is already encrypted with the newest key."""
        try:
            self._fernets[0].decrypt(bytes(token))
        except InvalidToken:
            return False
        return True

    def rotate(self, context: str, token: bytes) -> bytes:
        """Re-encrypt ``token`` with the newest key (after checking it opens for ``context``)."""
        self.open(context, token)
        return self._multi.rotate(bytes(token))
