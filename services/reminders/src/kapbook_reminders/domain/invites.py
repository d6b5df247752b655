"""Calendar invites (RFC 5545 objects, RFC 5546 iTIP methods) for a booking.

- One UID per booking for life; SEQUENCE is the snapshot's sequence, so a
  calendar applies the newest REQUEST or CANCEL and ignores stale ones.
- Times carry the TZID of the zone the patient will be in: the clinic's zone
  for an in-person visit, the patient's own zone for a video call. A matching
  VTIMEZONE is embedded, so clients need no zone database to place the event.
- What a shared calendar shows stays generic: the summary names the clinic's
  display name only, and the description holds no appointment type, clinician
  or instructions.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache

from icalendar import Calendar, Event, Timezone, vCalAddress, vText, vUri

from kapbook_reminders.domain.booking import BookingSnapshot, require_aware_utc, require_zone
from kapbook_reminders.domain.local_time import to_local

PRODID = "-//Kapbook//Kapbook Reminders//EN"
VIDEO_CALL_LOCATION = "Video call — link in your email"
JOIN_LABEL = "Join the video call"


class InviteMethod(StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


def invite_uid(booking_id: str) -> str:
    return f"{booking_id}@kapbook"


def invite_timezone(snapshot: BookingSnapshot) -> str:
    """The zone the patient will be in during the appointment."""
    return snapshot.patient_timezone if snapshot.is_telehealth else snapshot.location_timezone


def invite_location(snapshot: BookingSnapshot) -> str:
    if snapshot.is_telehealth:
        return snapshot.video_call_url or VIDEO_CALL_LOCATION
    return snapshot.location_address or snapshot.location_name


def build_invite(
    snapshot: BookingSnapshot,
    method: InviteMethod | str,
    organizer_email: str,
    *,
    organizer_name: str,
    now: datetime,
) -> bytes:
    """The iCalendar object (bytes, CRLF lines) to send for this booking version.

    The same bytes as ``Calendar.to_ical()`` of the calendar with its VTIMEZONE and VEVENT, but the
    calendar's own lines and the VTIMEZONE are serialised once per method and zone-year (most of an
    invite's lines, and most of its cost), and only the event each time.
    """
    method = InviteMethod(method)
    zone_name = invite_timezone(snapshot)
    require_zone(zone_name)
    timezone = timezone_ical(zone_name, to_local(snapshot.start, zone_name).year)
    event = build_event(snapshot, method, organizer_email, organizer_name, now).to_ical()
    return calendar_head(method) + timezone + event + CALENDAR_END


CALENDAR_END = b"END:VCALENDAR\r\n"


def empty_calendar(method: InviteMethod) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method.value)
    return calendar


@lru_cache(maxsize=None)
def calendar_head(method: InviteMethod) -> bytes:
    """The calendar's lines before its components (BEGIN and its properties)."""
    whole = empty_calendar(method).to_ical()
    assert whole.endswith(CALENDAR_END)
    return whole[: -len(CALENDAR_END)]


@lru_cache(maxsize=256)
def timezone_ical(zone_name: str, year: int) -> bytes:
    """The VTIMEZONE's lines, serialised once per zone and year."""
    return timezone_component(zone_name, year).to_ical()


def build_event(
    snapshot: BookingSnapshot,
    method: InviteMethod,
    organizer_email: str,
    organizer_name: str,
    now: datetime,
) -> Event:
    zone_name = invite_timezone(snapshot)
    event = Event()
    event.add("uid", invite_uid(snapshot.booking_id))
    event.add("sequence", snapshot.sequence)
    event.add("dtstamp", require_aware_utc(now, "now"))
    event.add("dtstart", to_local(snapshot.start, zone_name))
    event.add("dtend", to_local(snapshot.end, zone_name))
    event.add("summary", f"Appointment at {organizer_name}")
    event.add("location", invite_location(snapshot))
    event.add("description", invite_description(snapshot))
    # No URL property and no manage link anywhere in the invite: a calendar is often shared, and
    # the manage link lets whoever holds it cancel or move the appointment (issue 14 finding 4).
    if snapshot.video_call_url:
        event.add("conference", conference(snapshot.video_call_url))
    event.add("status", "CANCELLED" if method is InviteMethod.CANCEL else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if method is InviteMethod.CANCEL else "OPAQUE")
    event.add("organizer", organizer(organizer_email, organizer_name))
    event.add("attendee", attendee(snapshot))
    return event


def build_timezone(snapshot: BookingSnapshot) -> Timezone:
    """A VTIMEZONE covering the appointment's year and the next, to keep the invite small."""
    zone_name = invite_timezone(snapshot)
    require_zone(zone_name)
    return timezone_component(zone_name, to_local(snapshot.start, zone_name).year)


@lru_cache(maxsize=256)
def timezone_component(zone_name: str, year: int) -> Timezone:
    """Computed once per zone and year (a dispatcher sends thousands); never modified after."""
    return Timezone.from_tzid(zone_name, first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))


MANAGE_HINT = "To view, reschedule or cancel, use the link in your confirmation email."


def invite_description(snapshot: BookingSnapshot) -> str:
    join = f"{JOIN_LABEL}: {snapshot.video_call_url}\n" if snapshot.video_call_url else ""
    return f"{join}{MANAGE_HINT}\n{snapshot.cancellation_policy}"


def conference(url: str) -> vUri:
    """RFC 7986 CONFERENCE: how to join the video call (calendar apps show a join button)."""
    value = vUri(url)
    value.params["VALUE"] = "URI"
    value.params["FEATURE"] = "VIDEO"
    value.params["LABEL"] = JOIN_LABEL
    return value


def organizer(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    return address


def attendee(snapshot: BookingSnapshot) -> vCalAddress:
    address = vCalAddress(f"mailto:{snapshot.patient_email}")
    address.params["CN"] = vText(snapshot.patient_name)
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = "REQ-PARTICIPANT"
    address.params["PARTSTAT"] = "NEEDS-ACTION"
    address.params["RSVP"] = "TRUE"
    return address
