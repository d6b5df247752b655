"""The strict base of every schema that reads input (HTTP bodies, query strings, event payloads).

Input is read strictly: a field nobody declared is an error rather than silently dropped, and a JSON
number or boolean must be one (marshmallow's own fields also take "8", 1 or "yes").
"""
from __future__ import annotations

import math
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_CHARACTERS_MESSAGE = "Must not contain control characters (line breaks, tabs, NUL or DEL)."


class _NoControlCharacters(validate.Regexp):
    """The one check of every name-like free text that can reach an email header, subject or invite.

    A CR or LF in a patient's name would split the confirmation's headers (and the send fails
    silently); NUL and DEL have no business in a name either. Accents and apostrophes are fine.
    A ``Regexp`` so the OpenAPI document shows the pattern, but checked with ``search``: the
    pattern's ``$`` would let a trailing newline through in Python.
    """

    def __init__(self) -> None:
        super().__init__(r"^[^\x00-\x1f\x7f]*$", error=CONTROL_CHARACTERS_MESSAGE)

    def __call__(self, value: str) -> str:
        return self.check(value)

    def check(self, value: str) -> str:
        """The check alone (no ``regex``, so no pattern in the document): for a field that has its own
        pattern or format there, such as a phone number or an email address."""
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise ValidationError(CONTROL_CHARACTERS_MESSAGE)
        return value


no_control_characters = _NoControlCharacters()


class StrictSchema(Schema):
    """Input: unknown fields are errors, not silently dropped."""

    class Meta:
        unknown = RAISE


class StrictNumber(fields.Float):
    """A JSON number: no strings such as "8", no booleans, no NaN or infinity."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """``true`` or ``false`` in a JSON body and nothing else (``fields.Boolean`` also takes 1, "yes", "on")."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
