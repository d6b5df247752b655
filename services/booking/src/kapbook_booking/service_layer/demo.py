"""The demo clinic ``make run`` seeds, following the clinical defaults of the product brief."""
from __future__ import annotations

import uuid
from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import tables as t

DEMO_NAMESPACE = uuid.UUID("5b0c2f38-7f8e-4c55-9c55-1a2b3c4d5e6f")


def demo_id(name: str) -> str:
    """Stable ids, so seeding twice changes nothing and the demo page can name things."""
    return str(uuid.uuid5(DEMO_NAMESPACE, name))


LOCATIONS = [
    {"id": demo_id("loc-nyc"), "name": "Kapbook Clinic Manhattan", "timezone": "America/New_York",
     "address": "120 W 57th St, New York, NY 10019"},
]

TYPES = [
    {"code": "free-consultation", "name": "Free consultation", "category": "consultation", "duration_minutes": 30,
     "buffer_before_minutes": 0, "buffer_after_minutes": 10, "min_notice_minutes": 120, "horizon_days": 60,
     "slot_step_minutes": 30, "modality": "telehealth", "room_kind": None, "requires_eligibility": False,
     "requires_driver": False, "cancel_notice_hours": 24, "reschedule_notice_hours": 24},
]

CLINICIANS = [
    {"key": "dr-rivera", "name": "Dr. Ana Rivera", "role": "prescriber", "email": "ana.rivera@example.org",
     "location": "loc-nyc", "types": ["free-consultation"],
     "hours": [(day, time(9), time(12, 30)) for day in range(5)] + [(day, time(13, 30), time(17)) for day in range(5)]},
]


def seed_demo_clinic(sessions: sessionmaker[Session]) -> bool:
    """Insert the demo clinic unless it is there already; returns True if it seeded."""
    with sessions.begin() as session:
        if session.execute(select(t.locations.c.id).where(t.locations.c.id == LOCATIONS[0]["id"])).first():
            return False
        session.execute(t.locations.insert(), LOCATIONS)
        session.execute(t.appointment_types.insert(), [{"id": demo_id(k["code"]), "active": True} | k for k in TYPES])
        for clinician in CLINICIANS:
            _seed_clinician(session, clinician)
    return True


def _seed_clinician(session: Session, clinician: dict) -> None:
    clinician_id = demo_id(clinician["key"])
    session.execute(
        t.clinicians.insert().values(
            id=clinician_id, name=clinician["name"], email=clinician["email"], role=clinician["role"], active=True,
            calendar_token=uuid.uuid4().hex,
        )
    )
    session.execute(
        t.clinician_appointment_types.insert(),
        [{"clinician_id": clinician_id, "appointment_type_id": demo_id(code)} for code in clinician["types"]],
    )
    location_id = demo_id(clinician["location"])
    session.execute(
        t.working_hours.insert(),
        [
            {"id": demo_id(f"{clinician['key']}-{day}-{start}"), "clinician_id": clinician_id, "location_id": location_id,
             "weekday": day, "start_time": start, "end_time": end}
            for day, start, end in clinician["hours"]
        ],
    )
