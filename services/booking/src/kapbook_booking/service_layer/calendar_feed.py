"""Per-clinician iCalendar feeds (RFC 5545) at a secret URL that calendar apps subscribe to.

The token in the URL is the only credential, so the feed says as little as a lost phone may
show: "Appointment: <type name>", the place and the times; never a patient's name or anything
clinical. One UID per booking for life and its SEQUENCE let calendar apps update in place;
cancelled bookings stay in the feed for a while as STATUS:CANCELLED so subscribers drop them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy.engine import RowMapping

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables
from kapbook_booking.service_layer.catalog import new_calendar_token
from kapbook_booking.service_layer.staff_records import StaffWrites, fetch_or_404
from kapbook_platform.clock import Clock
from kapbook_platform.staff.principal import StaffPrincipal

PRODID = "-//Kapbook//Booking staff calendar//EN"
FEED_PATH = "/api/booking/v1/calendars/{token}.ics"
# Holds are a patient filling in a form, not an appointment: they stay out of the feed.
FEED_STATUSES = ("booked", "arrived", "fulfilled", "noshow", "cancelled")
FEED_HISTORY = timedelta(days=90)
REFRESH_INTERVAL = timedelta(minutes=15)


@dataclass(frozen=True)
class CalendarFeeds:
    writes: StaffWrites
    public_base_url: str
    clock: Clock

    def url_for(self, token: str) -> str:
        return self.public_base_url.rstrip("/") + FEED_PATH.format(token=token)

    def link(self, clinician_id: str) -> dict[str, Any]:
        """The clinician's current feed URL (None if they have no token)."""
        with self.writes.reading() as session:
            row = fetch_or_404(session, tables.clinicians, clinician_id, "clinician")
        token = row["calendar_token"]
        return {"clinician_id": clinician_id, "url": self.url_for(token) if token else None}

    def regenerate(self, actor: StaffPrincipal, clinician_id: str) -> dict[str, Any]:
        """Give the clinician a new feed URL; the old one stops working at once."""
        token = new_calendar_token()
        with self.writes.unit_of_work() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician", lock=True)
            repo.update_row(session, tables.clinicians, clinician_id, {"calendar_token": token})
            target = f"clinician:{clinician_id}"
            self.writes.audit(session, actor, "clinician.calendar_token_regenerated", target, ["calendar_token"])
        return {"clinician_id": clinician_id, "url": self.url_for(token)}

    def render(self, token: str) -> tuple[str, bytes] | None:
        """The clinician's id and feed for this token, or None when no active clinician has it."""
        with self.writes.reading() as session:
            clinician = repo.active_clinician_by_calendar_token(session, token)
            if clinician is None:
                return None
            rows = repo.calendar_feed_bookings(session, clinician["id"], FEED_STATUSES, self.clock() - FEED_HISTORY)
        return clinician["id"], feed_calendar(clinician["name"], rows).to_ical()


def feed_calendar(clinician_name: str, bookings: list[RowMapping]) -> Calendar:
    """A VCALENDAR with one VEVENT per booking, times in UTC."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", f"Kapbook: {clinician_name}")
    calendar.add("x-wr-calname", f"Kapbook: {clinician_name}")
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    for row in bookings:
        calendar.add_component(booking_event(row))
    return calendar


def booking_event(row: RowMapping) -> Event:
    """One booking as a VEVENT; without METHOD, DTSTAMP is when the booking last changed (RFC 5545 3.8.7.2)."""
    cancelled = row["status"] == "cancelled"
    event = Event()
    event.add("uid", f"{row['id']}@kapbook")
    event.add("sequence", row["sequence"])
    event.add("dtstamp", row["updated_at"])
    event.add("created", row["created_at"])
    event.add("last-modified", row["updated_at"])
    event.add("dtstart", row["start"])
    event.add("dtend", row["end"])
    event.add("summary", f"Appointment: {row['type_name']}")
    event.add("location", ", ".join(part for part in (row["location_name"], row["room_name"]) if part))
    event.add("description", f"Kapbook booking {row['id']} ({row['status']})")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event
