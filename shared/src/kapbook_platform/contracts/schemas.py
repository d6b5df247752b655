"""The strict base of every schema that reads input (HTTP bodies, query strings, event payloads).

Input is read strictly: a field nobody declared is an error rather than silently dropped, and a JSON
number or boolean must be one (marshmallow's own fields also take "8", 1 or "yes").
"""
from __future__ import annotations

import math
import re

from marshmallow import RAISE, Schema, ValidationError, fields

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_CHARACTERS_MESSAGE = "Must not contain control characters (line breaks, tabs, NUL or DEL)."


def no_control_characters(value: str) -> None:
    """The one check of every name-like free text that can reach an email header, subject or invite.

    A CR or LF in a patient's name would split the confirmation's headers (and the send fails
    silently); NUL and DEL have no business in a name either. Accents and apostrophes are fine.
    """
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE)


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
