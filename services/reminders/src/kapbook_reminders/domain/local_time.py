"""Wall-clock wording for a moment in a named IANA zone, in English, locale-independent.

"Tuesday 9 March 2027, 10:30 (Eastern Time — America/New_York)": the IANA name
makes the zone unambiguous; the UTC offset is added when the wall time happens
twice (the hour repeated when clocks go back).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kapbook_reminders.domain.booking import require_aware_utc, require_zone

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

EASTERN = "Eastern Time"
CENTRAL = "Central Time"
MOUNTAIN = "Mountain Time"
PACIFIC = "Pacific Time"
CENTRAL_EUROPEAN = "Central European Time"
EASTERN_EUROPEAN = "Eastern European Time"
# Generic (not standard/daylight) names, so the label is right all year round.
# Zones not listed are described by their UTC offset instead.
ZONE_NAMES: dict[str, str] = {
    "America/New_York": EASTERN,
    "America/Detroit": EASTERN,
    "America/Indiana/Indianapolis": EASTERN,
    "America/Kentucky/Louisville": EASTERN,
    "America/Toronto": EASTERN,
    "America/Chicago": CENTRAL,
    "America/Winnipeg": CENTRAL,
    "America/Denver": MOUNTAIN,
    "America/Boise": MOUNTAIN,
    "America/Edmonton": MOUNTAIN,
    "America/Phoenix": "Mountain Standard Time",
    "America/Los_Angeles": PACIFIC,
    "America/Vancouver": PACIFIC,
    "America/Anchorage": "Alaska Time",
    "Pacific/Honolulu": "Hawaii Time",
    "America/Halifax": "Atlantic Time",
    "America/Puerto_Rico": "Atlantic Time",
    "America/St_Johns": "Newfoundland Time",
    "Europe/London": "UK Time",
    "Europe/Dublin": "Irish Time",
    "Europe/Lisbon": "Western European Time",
    "Europe/Amsterdam": CENTRAL_EUROPEAN,
    "Europe/Berlin": CENTRAL_EUROPEAN,
    "Europe/Brussels": CENTRAL_EUROPEAN,
    "Europe/Copenhagen": CENTRAL_EUROPEAN,
    "Europe/Madrid": CENTRAL_EUROPEAN,
    "Europe/Oslo": CENTRAL_EUROPEAN,
    "Europe/Paris": CENTRAL_EUROPEAN,
    "Europe/Prague": CENTRAL_EUROPEAN,
    "Europe/Rome": CENTRAL_EUROPEAN,
    "Europe/Stockholm": CENTRAL_EUROPEAN,
    "Europe/Vienna": CENTRAL_EUROPEAN,
    "Europe/Warsaw": CENTRAL_EUROPEAN,
    "Europe/Zurich": CENTRAL_EUROPEAN,
    "Europe/Athens": EASTERN_EUROPEAN,
    "Europe/Helsinki": EASTERN_EUROPEAN,
    "Europe/Kyiv": EASTERN_EUROPEAN,
    "Asia/Kolkata": "India Time",
    "Asia/Tokyo": "Japan Time",
    "Australia/Sydney": "Australian Eastern Time",
    "Australia/Melbourne": "Australian Eastern Time",
    "Australia/Brisbane": "Australian Eastern Standard Time",
    "Australia/Adelaide": "Australian Central Time",
    "Australia/Perth": "Australian Western Time",
    "Pacific/Auckland": "New Zealand Time",
    "UTC": "Coordinated Universal Time",
    "Etc/UTC": "Coordinated Universal Time",
}


def to_local(moment: datetime, zone_name: str) -> datetime:
    """`moment` as wall-clock time in the IANA zone `zone_name`."""
    return require_aware_utc(moment, "moment").astimezone(require_zone(zone_name))


def format_date(moment: datetime, zone_name: str, *, with_year: bool = True) -> str:
    """'Tuesday 9 March 2027' (or 'Tuesday 9 March') in the given zone."""
    local = to_local(moment, zone_name)
    day = f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}"
    return f"{day} {local.year}" if with_year else day


def format_clock(moment: datetime, zone_name: str, *, twelve_hour: bool = False) -> str:
    """'10:30' or '10:30 am' in the given zone."""
    local = to_local(moment, zone_name)
    if not twelve_hour:
        return f"{local.hour:02d}:{local.minute:02d}"
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"


def describe_zone(moment: datetime, zone_name: str) -> str:
    """'Eastern Time — America/New_York', with the UTC offset if the wall time is ambiguous."""
    local = to_local(moment, zone_name)
    friendly = ZONE_NAMES.get(zone_name)
    if friendly is None:
        friendly = format_utc_offset(local.utcoffset())
    elif is_ambiguous_wall_time(local):
        friendly = f"{friendly}, {format_utc_offset(local.utcoffset())}"
    return f"{friendly} — {zone_name}"


def format_moment(moment: datetime, zone_name: str, *, twelve_hour: bool = False) -> str:
    """'Tuesday 9 March 2027, 10:30 (Eastern Time — America/New_York)'."""
    clock = format_clock(moment, zone_name, twelve_hour=twelve_hour)
    return f"{format_date(moment, zone_name)}, {clock} ({describe_zone(moment, zone_name)})"


def format_span(start: datetime, end: datetime, zone_name: str, *, twelve_hour: bool = False) -> str:
    """'Tuesday 9 March 2027, 10:30 to 11:30 (Eastern Time — America/New_York)'.

    The end's date is repeated only when it falls on another day.
    """
    start_clock = format_clock(start, zone_name, twelve_hour=twelve_hour)
    end_clock = format_clock(end, zone_name, twelve_hour=twelve_hour)
    if format_date(end, zone_name) != format_date(start, zone_name):
        end_clock = f"{format_date(end, zone_name)}, {end_clock}"
    zone = describe_zone(start, zone_name)
    return f"{format_date(start, zone_name)}, {start_clock} to {end_clock} ({zone})"


def same_wall_clock(moment: datetime, first_zone: str, second_zone: str) -> bool:
    """True when both zones show the same date and time at `moment`."""
    return to_local(moment, first_zone).replace(tzinfo=None) == to_local(
        moment, second_zone
    ).replace(tzinfo=None)


def is_ambiguous_wall_time(local: datetime) -> bool:
    """True when this wall time occurs twice in its zone (clocks going back)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def format_utc_offset(offset: timedelta | None) -> str:
    """'UTC−04:00', 'UTC+05:30', 'UTC' (with a true minus sign)."""
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes > 0 else "−"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"
