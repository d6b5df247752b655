"""The strict base of every schema that reads input (HTTP bodies, query strings, event payloads).

Input is read strictly: a field nobody declared is an error rather than silently dropped, and a JSON
number or boolean must be one (marshmallow's own fields also take "8", 1 or "yes").
"""
from __future__ import annotations

import math

from marshmallow import RAISE, Schema, fields


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
