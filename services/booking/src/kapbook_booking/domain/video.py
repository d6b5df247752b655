"""Telehealth join links: which video room a booking gets (pure; randomness comes in as an argument)."""
from __future__ import annotations

import secrets
from collections.abc import Callable

ROOM_PLACEHOLDER = "{room}"
# The development default: offline-safe placeholder host; production sets BOOKING_VIDEO_ROOM_TEMPLATE.
DEFAULT_VIDEO_ROOM_TEMPLATE = "https://meet.example.org/kapbook-{room}"
# 16 random bytes: 128 bits, 22 URL-safe characters. A room id is the only secret of a room.
ROOM_ID_BYTES = 16


def new_room_id() -> str:
    """A fresh unguessable room id (URL-safe base64 of 128 random bits)."""
    return secrets.token_urlsafe(ROOM_ID_BYTES)


def join_url_for(
    modality: str,
    template: str,
    clinician_room_url: str | None = None,
    new_room: Callable[[], str] = new_room_id,
) -> str | None:
    """The join URL of a new booking: none in person; the clinician's fixed room if they have one;
    else the clinic's template with a new room id in place of ``{room}``."""
    if modality != "telehealth":
        return None
    if clinician_room_url:
        return clinician_room_url
    return template.replace(ROOM_PLACEHOLDER, new_room())
