"""Clinicians' own calendars, as iCalendar (RFC 5545): the busy time in them, and the event
Kapbook writes for a booking. Pure: text in, values out; the network is the adapter's.

Busy time is what blocks the clinician: every occurrence of every event, recurring ones
expanded in their own time zone (a weekly 09:00 stays 09:00 local across a DST change). Events
marked TRANSP:TRANSPARENT ("free") or STATUS:CANCELLED do not block, nor do the events Kapbook
wrote itself (their UID ends in ``@kapbook.booking``: the booking already blocks its time).
All-day and floating events are read in the zone the clinic chose for the calendar.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from kapbook_booking.domain.intervals import TimeRange

KAPBOOK_UID_DOMAIN = "kapbook.booking"
PRODUCT_ID = "-//Kapbook//Booking//EN"
EVENT_SUMMARY = "Kapbook appointment"
MAX_OCCURRENCES = 20_000


class CalendarDataInvalid(ValueError):
    """The calendar's data cannot be read (the message is safe to show staff)."""


def booking_uid(booking_id: str) -> str:
    return f"{booking_id}@{KAPBOOK_UID_DOMAIN}"


def is_kapbook_event(uid: str) -> bool:
    return uid.endswith("@" + KAPBOOK_UID_DOMAIN)


def busy_ranges(calendars: Iterable[str | bytes], start: datetime, end: datetime, zone: ZoneInfo) -> list[TimeRange]:
    """The busy time of these VCALENDAR texts within [start, end): clipped, sorted, and merged
    where ranges overlap or touch. Raises CalendarDataInvalid for text that is not iCalendar, or
    for more than MAX_OCCURRENCES occurrences (a runaway recurrence)."""
    found: list[tuple[datetime, datetime]] = []
    for text in calendars:
        for occurrence in _occurrences(_parse(text), start, end):
            span = _busy_span(occurrence, zone)
            if span is not None:
                found.append((max(span[0], start), min(span[1], end)))
            if len(found) > MAX_OCCURRENCES:
                raise CalendarDataInvalid(f"The calendar has too many events in the synced period (over {MAX_OCCURRENCES:,}).")
    return [TimeRange(first, last) for first, last in _merged(span for span in found if span[0] < span[1])]


def _parse(text: str | bytes) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as error:  # icalendar raises ValueError, KeyError, IndexError… on broken input
        raise CalendarDataInvalid(f"The calendar sent data that is not iCalendar ({type(error).__name__}).") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise CalendarDataInvalid("The calendar sent data that is not a VCALENDAR.")
    return calendar


def _occurrences(calendar: icalendar.Calendar, start: datetime, end: datetime) -> list:
    try:
        return list(recurring_ical_events.of(calendar).between(start, end))
    except Exception as error:  # an unreadable RRULE, DTSTART or time zone
        raise CalendarDataInvalid(f"An event's dates or repeat rule cannot be read ({type(error).__name__}).") from None


def _busy_span(event, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The event's [start, end) as UTC instants, or None when it does not block time."""
    if is_kapbook_event(str(event.get("UID", ""))):
        return None
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT" or str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if "DTSTART" not in event:
        return None
    first = event["DTSTART"].dt
    if "DTEND" in event:
        last = event["DTEND"].dt
    elif "DURATION" in event:
        last = first + event["DURATION"].dt
    else:  # RFC 5545: a date lasts the day, a date-time is an instant (blocks nothing)
        last = first + timedelta(days=1) if not isinstance(first, datetime) else first
    begins, ends = _instant(first, zone), _instant(last, zone)
    return (begins, ends) if begins < ends else None


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """A DATE is local midnight in ``zone``; a floating DATE-TIME is local to ``zone``; then UTC."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(timezone.utc)


def _merged(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def booking_event(uid: str, start: datetime, end: datetime, zone: ZoneInfo, stamp: datetime, sequence: int) -> bytes:
    """A VCALENDAR holding one VEVENT for a booking, in the location's zone with its VTIMEZONE.
    It names nothing about the patient or the care: the summary is only "Kapbook appointment"."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(timezone.utc))
    event.add("dtstart", start.astimezone(zone))
    event.add("dtend", end.astimezone(zone))
    event.add("sequence", sequence)
    event.add("summary", EVENT_SUMMARY)
    event.add("transp", "OPAQUE")
    event.add("status", "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
