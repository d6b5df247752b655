"""Field types and checks that more than one staff schema module uses."""
from __future__ import annotations

import re

from marshmallow import fields, validate

from kapbook_platform.contracts.schemas import StrictSchema, no_control_characters

# Clinician, location, room and appointment type names reach emails and invites.
NAME = [validate.Length(min=1, max=200), no_control_characters]
ID = validate.Length(min=1, max=36)
HH_MM = "%H:%M"
HH_MM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class ClockTime(fields.Time):
    """A local time of day as HH:MM, 24-hour, and only that (``%H:%M`` alone also takes "9:5")."""

    def __init__(self, **kwargs) -> None:
        metadata = {"pattern": HH_MM_PATTERN} | kwargs.pop("metadata", {})
        super().__init__(format=HH_MM, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.match(HH_MM_PATTERN, value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return super()._deserialize(value, attr, data, **kwargs)


class ChangeSchema(StrictSchema):
    """A PATCH body: any subset of the fields of the request schema it is mixed into."""

    def __init__(self, **kwargs) -> None:
        super().__init__(partial=True, **kwargs)
