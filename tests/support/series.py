"""A small clinic with an infusion protocol, for the series tests (API, races, benchmarks' checks)."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from kapbook_booking.adapters import tables as t
from support.clinic import ClinicBuilder


def add_protocol(clinic: ClinicBuilder, code: str, type_id: str, sessions: int, *, min_gap_hours: int = 24,
                 max_window_days: int = 21, max_per_week: int | None = 3, requires_preparation: bool = False,
                 name: str | None = None) -> str:
    protocol_id = str(uuid.uuid4())
    with clinic.sessions.begin() as session:
        session.execute(t.protocols.insert().values(
            id=protocol_id, code=code, name=name or code.replace("-", " ").title(), appointment_type_id=type_id,
            sessions=sessions, min_gap_hours=min_gap_hours, max_window_days=max_window_days, max_per_week=max_per_week,
            requires_preparation=requires_preparation, integration_within_days=None, active=True))
    return protocol_id


def infusion_clinic(sessions, zone: str = "America/New_York") -> ClinicBuilder:
    """Two nurses, two chairs, an infusion type and the 6-session ``iv-6`` protocol (24 h apart, 3 a week, 21 days)."""
    clinic = ClinicBuilder(sessions, zone=zone)
    clinic.infusion = clinic.appointment_type("infusion", 50, room_kind="chair", buffer_after_minutes=30,
                                              category="dosing_iv")
    clinic.nurse_a = clinic.clinician("Nurse A", [clinic.infusion])
    clinic.nurse_b = clinic.clinician("Nurse B", [clinic.infusion])
    clinic.chair_1 = clinic.room("chair", "Chair 1")
    clinic.chair_2 = clinic.room("chair", "Chair 2")
    clinic.protocol_id = add_protocol(clinic, "iv-6", clinic.infusion, 6, name="IV induction")
    return clinic


def next_monday_at(zone: str, hour: int, minute: int = 0, days_ahead: int = 3, now: datetime | None = None) -> datetime:
    """A Monday at least ``days_ahead`` days from now, at hour:minute local time."""
    local_zone = ZoneInfo(zone)
    day = (now or datetime.now(local_zone)).astimezone(local_zone).date() + timedelta(days=days_ahead)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime.combine(day, time(hour, minute), local_zone)


def series_body(starts, email: str = "pat@example.org", protocol: str = "iv-6", **extra) -> dict:
    return {"protocol": protocol, "timezone": "America/New_York",
            "sessions": [{"start": start.isoformat(), "clinician_id": None} for start in starts],
            "patient": {"name": "Pat Example", "email": email, "timezone": "America/New_York"}} | extra
