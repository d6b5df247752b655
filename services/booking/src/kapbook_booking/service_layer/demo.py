"""The demo clinic ``make run`` seeds, following the clinical defaults of the product brief.

Two clinics in different time zones (Manhattan and Santa Monica) and a telehealth practice,
with prescribers, therapists and nurses, infusion chairs and dosing rooms, and every
appointment type of the KAP pathway: consultation, medical evaluation, preparation, IV
infusion, esketamine, IM/KAP dosing, integration and booster sessions.

Every row has a stable id, and seeding inserts only the rows that are missing: running it
again changes nothing, and a database seeded by an older version gains what is new.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables
from kapbook_booking.service_layer.catalog import new_calendar_token

DEMO_NAMESPACE = uuid.UUID("5b0c2f38-7f8e-4c55-9c55-1a2b3c4d5e6f")
WEEKDAYS = range(5)


def demo_id(name: str) -> str:
    """Stable ids, so seeding twice changes nothing and the demo page can name things."""
    return str(uuid.uuid5(DEMO_NAMESPACE, name))


LOCATIONS = [
    {"id": demo_id("loc-nyc"), "name": "Kapbook Clinic Manhattan", "timezone": "America/New_York",
     "address": "120 W 57th St, New York, NY 10019"},
    {"id": demo_id("loc-la"), "name": "Kapbook Clinic Santa Monica", "timezone": "America/Los_Angeles",
     "address": "1450 Ocean Ave, Santa Monica, CA 90401"},
    {"id": demo_id("loc-telehealth"), "name": "Kapbook Telehealth (video)", "timezone": "America/Chicago",
     "address": None},
]

ROOMS = [
    {"key": "nyc-chair-1", "location": "loc-nyc", "name": "Infusion chair 1", "kind": "infusion_chair"},
    {"key": "nyc-chair-2", "location": "loc-nyc", "name": "Infusion chair 2", "kind": "infusion_chair"},
    {"key": "nyc-chair-3", "location": "loc-nyc", "name": "Infusion chair 3", "kind": "infusion_chair"},
    {"key": "nyc-dosing-a", "location": "loc-nyc", "name": "Dosing room A", "kind": "dosing_room"},
    {"key": "la-chair-1", "location": "loc-la", "name": "Infusion chair 1", "kind": "infusion_chair"},
    {"key": "la-chair-2", "location": "loc-la", "name": "Infusion chair 2", "kind": "infusion_chair"},
    {"key": "la-dosing-1", "location": "loc-la", "name": "Dosing room Ocean", "kind": "dosing_room"},
]


def _type(code: str, name: str, category: str, duration: int, **rules: Any) -> dict[str, Any]:
    """An appointment type with the clinic's usual defaults, overridden by ``rules``."""
    defaults = {
        "buffer_before_minutes": 0, "buffer_after_minutes": 10, "min_notice_minutes": 24 * 60, "horizon_days": 90,
        "slot_step_minutes": 30, "modality": "in_person", "room_kind": None, "requires_eligibility": True,
        "requires_driver": False, "cancel_notice_hours": 24, "reschedule_notice_hours": 24,
    }
    return {"code": code, "name": name, "category": category, "duration_minutes": duration} | defaults | rules


DOSING = {"requires_driver": True, "min_notice_minutes": 48 * 60, "cancel_notice_hours": 48, "reschedule_notice_hours": 48}

TYPES = [
    # No screening needed to talk to the clinic; a video call, bookable at two hours' notice.
    _type("free-consultation", "Free consultation", "consultation", 30, modality="telehealth",
          min_notice_minutes=120, horizon_days=60, requires_eligibility=False),
    _type("medical-evaluation", "Medical evaluation", "evaluation", 60, requires_eligibility=False),
    _type("preparation-session", "Preparation session", "preparation", 50, modality="telehealth"),
    # ~50 min infusion; vitals and line before, 45 min recovery in the chair after.
    _type("iv-infusion", "IV ketamine infusion", "dosing_iv", 50, buffer_before_minutes=15, buffer_after_minutes=45,
          room_kind="infusion_chair", **DOSING),
    # Dose and blood pressure, then at least 2 h of on-site monitoring (REMS), then discharge.
    _type("esketamine-treatment", "Esketamine treatment", "dosing_esketamine", 135, buffer_before_minutes=15,
          buffer_after_minutes=15, room_kind="infusion_chair", **DOSING),
    _type("kap-dosing", "Ketamine-assisted psychotherapy dosing session (IM/sublingual)", "dosing_im", 180,
          buffer_before_minutes=15, buffer_after_minutes=30, room_kind="dosing_room", **DOSING),
    _type("integration-session", "Integration session", "integration", 50, modality="telehealth", min_notice_minutes=12 * 60),
    _type("booster-infusion", "Booster infusion", "booster", 50, buffer_before_minutes=15, buffer_after_minutes=45,
          room_kind="infusion_chair", **DOSING),
]


def _hours(days: Iterable[int], *spans: tuple[time, time], location: str) -> list[tuple[int, time, time, str]]:
    return [(day, start, end, location) for day in days for start, end in spans]


CLINICIANS = [
    {"key": "dr-rivera", "name": "Dr. Ana Rivera", "role": "prescriber", "email": "ana.rivera@example.org",
     "types": ["free-consultation", "medical-evaluation"],
     "hours": _hours(WEEKDAYS, (time(9), time(12, 30)), (time(13, 30), time(17)), location="loc-nyc")},
    {"key": "nurse-okafor", "name": "Grace Okafor, RN", "role": "nurse", "email": "grace.okafor@example.org",
     "types": ["iv-infusion", "esketamine-treatment", "booster-infusion"],
     "hours": _hours(range(4), (time(8), time(12)), (time(12, 30), time(16, 30)), location="loc-nyc")},
    {"key": "dr-shah", "name": "Dr. Priya Shah, PsyD", "role": "therapist", "email": "priya.shah@example.org",
     "types": ["kap-dosing", "preparation-session", "integration-session"],
     # Dosing days in the clinic, then afternoon and evening video sessions.
     "hours": _hours((0, 2), (time(9), time(17)), location="loc-nyc")
     + _hours((1, 3), (time(12), time(19)), location="loc-telehealth")},
    {"key": "dr-chen", "name": "Dr. Marcus Chen", "role": "prescriber", "email": "marcus.chen@example.org",
     "types": ["medical-evaluation", "esketamine-treatment"],
     "hours": _hours(WEEKDAYS, (time(8), time(12)), (time(13), time(16)), location="loc-la")},
    {"key": "nurse-morales", "name": "Sam Morales, RN", "role": "nurse", "email": "sam.morales@example.org",
     "types": ["iv-infusion", "booster-infusion"],
     "hours": _hours(range(1, 6), (time(9), time(17)), location="loc-la")},
    {"key": "elena-park", "name": "Elena Park, LMFT", "role": "therapist", "email": "elena.park@example.org",
     "types": ["free-consultation", "kap-dosing", "preparation-session", "integration-session"],
     # An afternoon schedule, the one the DST bugs of other schedulers get wrong.
     "hours": _hours(range(4), (time(13), time(20)), location="loc-la")},
]


# Treatment protocols (issue 12): IV induction is 6 infusions within 3 weeks, 2-3 a week, a day
# apart. Esketamine induction is twice weekly in weeks 1-4 (the weekly weeks 5-8 are booked as a
# second course later): 8 sessions, 2 a week, 48 h apart, within 28 days. A KAP course is 3 dosing
# sessions, a week apart, each followed by an integration session within 3 days.
PROTOCOLS = [
    {"code": "iv-induction", "name": "IV induction", "type": "iv-infusion", "sessions": 6, "min_gap_hours": 24,
     "max_window_days": 21, "max_per_week": 3, "requires_preparation": True, "integration_within_days": None},
    {"code": "esketamine-induction", "name": "Esketamine induction", "type": "esketamine-treatment", "sessions": 8,
     "min_gap_hours": 48, "max_window_days": 28, "max_per_week": 2, "requires_preparation": False,
     "integration_within_days": None},
    {"code": "kap-course", "name": "KAP course", "type": "kap-dosing", "sessions": 3, "min_gap_hours": 24 * 6,
     "max_window_days": 21, "max_per_week": 1, "requires_preparation": True, "integration_within_days": 3},
]


def _protocol_row(protocol: Mapping[str, Any]) -> dict[str, Any]:
    columns = {k: v for k, v in protocol.items() if k != "type"}
    return columns | {"id": demo_id(f"protocol-{protocol['code']}"), "appointment_type_id": demo_id(protocol["type"]),
                      "active": True}


def seed_demo_clinic(sessions: sessionmaker[Session]) -> bool:
    """Insert whatever of the demo clinic is missing; returns True if it inserted anything."""
    with sessions.begin() as session:
        inserted = repo.insert_missing_rows(session, tables.locations, LOCATIONS)
        inserted |= repo.insert_missing_rows(session, tables.rooms, [_room_row(room) for room in ROOMS])
        types = [{"id": demo_id(k["code"]), "active": True} | k for k in TYPES]
        inserted |= repo.insert_missing_rows(session, tables.appointment_types, types)
        for clinician in CLINICIANS:
            inserted |= _seed_clinician(session, clinician)
        inserted |= repo.insert_missing_rows(session, tables.protocols, [_protocol_row(p) for p in PROTOCOLS])
    return inserted


def _room_row(room: Mapping[str, str]) -> dict[str, Any]:
    return {"id": demo_id(room["key"]), "location_id": demo_id(room["location"]), "name": room["name"],
            "kind": room["kind"], "active": True}


def _seed_clinician(session: Session, clinician: Mapping[str, Any]) -> bool:
    clinician_id = demo_id(clinician["key"])
    row = {"id": clinician_id, "name": clinician["name"], "email": clinician["email"], "role": clinician["role"],
           "active": True, "calendar_token": new_calendar_token()}
    inserted = repo.insert_missing_rows(session, tables.clinicians, [row])
    links = [{"clinician_id": clinician_id, "appointment_type_id": demo_id(code)} for code in clinician["types"]]
    link_key = ("clinician_id", "appointment_type_id")
    inserted |= repo.insert_missing_rows(session, tables.clinician_appointment_types, links, key=link_key)
    hours = [
        {"id": demo_id(f"{clinician['key']}-{day}-{start}"), "clinician_id": clinician_id, "location_id": demo_id(location),
         "weekday": day, "start_time": start, "end_time": end}
        for day, start, end, location in clinician["hours"]
    ]
    return repo.insert_missing_rows(session, tables.working_hours, hours) | inserted
