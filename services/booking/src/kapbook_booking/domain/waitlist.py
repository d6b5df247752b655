"""The waitlist: who waits for what, in which windows of their week, and who is offered a freed slot.

Pure rules only. A window is a set of weekdays and a time of day range in the patient's own zone
("Tue/Thu after 15:00"); an entry may also be limited to a date range. A freed slot goes to the
earliest-joined entry whose windows hold the whole appointment and who has not been offered that
very slot before (a decline or an expired offer passes it on, never back).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kapbook_booking.domain.errors import Conflict, Invalid, NotFound

DEFAULT_OFFER_MINUTES = 30
DEFAULT_ENTRY_DAYS = 60
MAX_WINDOWS = 14
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WaitlistOfferUnusable(NotFound):
    """An offer link that is unknown, expired, declined or given to someone else: one answer for all."""

    code = "waitlist_offer_unusable"


class WaitlistEntryClosed(Conflict):
    code = "waitlist_entry_closed"


class InvalidWindow(Invalid):
    pass


@dataclass(frozen=True)
class Window:
    """Weekdays (0 = Monday) and a local time range [start, end) the patient can come in."""

    weekdays: frozenset[int]
    start: time
    end: time

    def holds(self, local_start: datetime, local_end: datetime) -> bool:
        """The whole appointment lies inside this window on one of its weekdays."""
        if local_start.weekday() not in self.weekdays or local_end.date() != local_start.date():
            return False
        return self.start <= local_start.time() and (local_end.time() <= self.end or self.end == time(0))

    def as_dict(self) -> dict:
        return {"weekdays": [WEEKDAY_NAMES[d] for d in sorted(self.weekdays)],
                "start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}

    def describe(self) -> str:
        """'Tue, Thu 15:00–20:00' (24-hour; the console shows it as is)."""
        days = ", ".join(WEEKDAY_NAMES[d].capitalize() for d in sorted(self.weekdays))
        until = "24:00" if self.end == time(0) else self.end.strftime("%H:%M")
        return f"{days} {self.start.strftime('%H:%M')}–{until}"


def window_from(weekdays: Iterable[str], start: time, end: time) -> Window:
    """A window from its parts; refuses an empty or reversed one (an end of 00:00 means midnight)."""
    days = frozenset(WEEKDAY_NAMES.index(day.lower()[:3]) for day in weekdays)
    if not days:
        raise InvalidWindow("Choose at least one weekday.", errors={"windows": ["Choose at least one weekday."]})
    if end != time(0) and end <= start:
        raise InvalidWindow("A window must end after it starts.", errors={"windows": ["A window must end after it starts."]})
    return Window(days, start, end)


def window_from_dict(value: dict) -> Window:
    return window_from(value["weekdays"], time.fromisoformat(value["start"]), time.fromisoformat(value["end"]))


@dataclass(frozen=True)
class WaitingEntry:
    """One patient waiting for one appointment type (optionally one clinician and/or location)."""

    id: str
    timezone: str
    windows: tuple[Window, ...]
    joined_at: datetime | None = None  # the order of the waitlist; callers pass entries in it
    clinician_id: str | None = None
    location_id: str | None = None
    earliest: date | None = None
    latest: date | None = None

    def wants(self, start: datetime, end: datetime, clinician_id: str, location_id: str) -> bool:
        """Whether this slot (instants) suits the patient: their clinician, place, dates and windows."""
        if self.clinician_id not in (None, clinician_id) or self.location_id not in (None, location_id):
            return False
        zone = ZoneInfo(self.timezone)
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        if self.earliest is not None and local_start.date() < self.earliest:
            return False
        if self.latest is not None and local_start.date() > self.latest:
            return False
        return any(window.holds(local_start, local_end) for window in self.windows)


def best_match(
    entries: Iterable[WaitingEntry], start: datetime, end: datetime, clinician_id: str, location_id: str,
    offered_before: set[str] = frozenset(),
) -> WaitingEntry | None:
    """The first entry (``entries`` come first joined first) that wants this slot and was not offered it
    before: first come, first served."""
    for entry in entries:
        if entry.id not in offered_before and entry.wants(start, end, clinician_id, location_id):
            return entry
    return None


def offer_expiry(start: datetime, now: datetime, minutes: int, min_notice: timedelta) -> datetime:
    """When an offer lapses: after ``minutes``, but never later than the last moment the slot may still be booked."""
    return min(now + timedelta(minutes=minutes), start - min_notice)


def offerable(start: datetime, now: datetime, min_notice: timedelta) -> bool:
    """No offer for a slot in the past or inside the minimum notice (there would be no time to claim it)."""
    return start - min_notice > now + timedelta(minutes=1)
