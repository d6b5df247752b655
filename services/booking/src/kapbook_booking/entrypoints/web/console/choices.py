"""Reading the console's query strings and form fields: dates, zones, times; lenient on reads."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from kapbook_platform.contracts.http import validate_timezone


def read_date(raw: str | None, default: date | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return default


def pick_zone(raw: str | None, default: str) -> str:
    """``raw`` if it is an IANA zone, else ``default``."""
    try:
        validate_timezone(raw or "")
    except ValidationError:
        return default
    return raw or default


def local_instant(day: str, clock: str, zone: str) -> datetime | None:
    """A wall-clock date and time (``2026-12-01``, ``10:30``) in ``zone`` as an aware datetime, or None."""
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), ZoneInfo(zone))
    except ValueError:
        return None


def aware_instant(raw: str | None) -> datetime | None:
    """An ISO 8601 instant with its offset, or None."""
    try:
        moment = datetime.fromisoformat(raw or "")
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
