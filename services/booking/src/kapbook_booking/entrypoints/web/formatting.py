"""How dates, times and zones read on the pages: "Tuesday 1 December 2026, 10:00 to 10:30"."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


COMMON_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Toronto", "America/Mexico_City", "Europe/London",
    "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "UTC",
)


def zone_choices(*also: str | None) -> list[str]:
    """Common zones plus ``also`` (the patient's, the location's), sorted."""
    return sorted(set(COMMON_ZONES) | {zone for zone in also if zone})


def day_label(moment: date) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def short_day_label(moment: date) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def time_label(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def time_range(start: datetime, end: datetime) -> str:
    return f"{time_label(start)} to {time_label(end)}"


def when_label(start: datetime, end: datetime, zone: str) -> str:
    """The full date and times of an appointment in ``zone``."""
    local_start, local_end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    return f"{day_label(local_start)}, {time_range(local_start, local_end)}"


def zone_city(zone: str) -> str:
    """``America/New_York`` reads as "New York"."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def zone_label(zone: str) -> str:
    """``America/New_York`` reads as "New York (America/New_York)"."""
    city = zone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} ({zone})" if city != zone else zone


SESSION_STATUSES = {"booked": "Booked", "arrived": "Arrived", "fulfilled": "Completed", "cancelled": "Cancelled", "noshow": "Missed"}


def session_word(kind: dict | None) -> str:
    """What one session of a series is called: "Infusion" for IV dosing, else "Session"."""
    return "Infusion" if kind and kind.get("category") == "dosing_iv" else "Session"


def session_status(session: dict, now: datetime) -> str:
    """A series session's state for the patient: past booked sessions read as "Past"."""
    if session["status"] == "booked" and session["start"] <= now:
        return "Past"
    return SESSION_STATUSES.get(session["status"], session["status"].capitalize())


def template_helpers() -> dict:
    """The formatting helpers every page template can call."""
    return {
        "day_label": day_label,
        "short_day_label": short_day_label,
        "time_label": time_label,
        "time_range": time_range,
        "when_label": when_label,
        "zone_label": zone_label,
        "zone_city": zone_city,
        "session_word": session_word,
        "session_status": session_status,
    }
