"""Use case: the free slots of an appointment type, in the patient's time zone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kapbook_booking.adapters.schedules import load_schedules
from kapbook_booking.domain.availability import Slot, find_slots
from kapbook_booking.domain.model import AppointmentType, InvalidAvailabilityQuery


@dataclass(frozen=True)
class AvailabilityQuery:
    appointment_type: str
    start: date
    end: date
    timezone: str
    clinician_id: str | None = None
    location_id: str | None = None

    def utc_window(self, max_days: int) -> tuple[datetime, datetime]:
        """[start 00:00, the day after end 00:00) in the requested zone, as instants."""
        if self.end < self.start:
            raise InvalidAvailabilityQuery("end must be on or after start.")
        days = (self.end - self.start).days + 1
        if days > max_days:
            raise InvalidAvailabilityQuery(f"Ask for at most {max_days} days at a time (this asked for {days}).")
        zone = ZoneInfo(self.timezone)
        first = datetime.combine(self.start, time(0), zone)
        last = datetime.combine(self.end + timedelta(days=1), time(0), zone)
        return first, last


def free_slots(
    session: Session, kind: AppointmentType, query: AvailabilityQuery, now: datetime, max_days: int
) -> list[Slot]:
    """Free slots starting inside the query's days, honouring hours, bookings, holds, rooms, notice and horizon."""
    window_start, window_end = query.utc_window(max_days)
    schedules, rooms = load_schedules(
        session, kind, window_start, window_end, now, clinician_id=query.clinician_id, location_id=query.location_id
    )
    return find_slots(kind.availability_rules(), schedules, rooms, now=now, window_start=window_start, window_end=window_end)
