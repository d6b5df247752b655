"""Builds the large benchmark clinic: 50 clinicians, 10 chairs, 5,000 existing bookings.

Shared by the availability and booking benchmarks (not a benchmark itself).
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import uuid
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support.scratch: the test helpers

from support.scratch import fresh_postgres_database  # noqa: E402

ZONE = ZoneInfo("America/New_York")
CLINICIANS, CHAIRS, BOOKINGS = 50, 10, 5_000
DAYS = 28


def fresh_database(backend: str) -> tuple[str, callable]:
    """A new empty database URL and a function that removes it."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="kapbook-bench-")
        return f"sqlite:///{folder}/booking.db", lambda: None
    admin_url = os.environ.get("KAPBOOK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    return fresh_postgres_database(admin_url, "kb_bench")


def build_clinic(database_url: str, seed: int = 7, days: int = DAYS, bookings: int = BOOKINGS, outcomes: bool = False,
                 clinicians: int = CLINICIANS, chairs: int = CHAIRS, history_days: int = 0):
    """Migrate and fill the database; returns the booking container and the first bench day.

    ``days`` and ``bookings`` stretch the clinic (the director's report reads three months);
    ``outcomes`` gives the bookings what a past quarter has: completed visits, no-shows, early and
    late cancellations, and a thousand patients rather than one. ``clinicians`` and ``chairs``
    grow or shrink it (the scaling benchmark); ``history_days`` adds that many days of past
    visits before today, as densely booked as the days ahead and with a past quarter's outcomes."""
    # The in-process figures measure computing answers: the answer cache is off here (the gunicorn
    # benchmark measures it on and off).
    container = bootstrap(BookingConfig(database_url=database_url, env="test", availability_cache_seconds=0,
                                        var_dir=__import__("pathlib").Path(tempfile.mkdtemp())))
    container.migrate()
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    first_day = (now.astimezone(ZONE) + timedelta(days=2)).date()
    with container.runtime.sessions.begin() as session:
        location = str(uuid.uuid4())
        session.execute(t.locations.insert().values(id=location, name="Bench Clinic", timezone=str(ZONE)))
        types = {
            "consult": _type(session, "consult", 30, None, 10),
            "infusion": _type(session, "infusion", 50, "chair", 30),
        }
        chair_ids = [_room(session, location, i) for i in range(chairs)]
        clinician_ids = [_clinician(session, location, i, list(types.values())) for i in range(clinicians)]
        rows = _bookings(rng, first_day, clinician_ids, chair_ids, types, location, now, days, bookings)
        if outcomes:
            _give_outcomes(rng, rows)
        session.execute(t.bookings.insert(), rows)
        if history_days:
            # Today and tomorrow stay empty (first_day is two days ahead), so no past visit is still due.
            past = _bookings(rng, first_day - timedelta(days=history_days + 2), clinician_ids, chair_ids, types,
                             location, now, history_days, bookings * history_days // days)
            _give_outcomes(rng, past)
            session.execute(t.bookings.insert(), past)
    return container, first_day


def _type(session, code, minutes, room_kind, buffer_after) -> str:
    type_id = str(uuid.uuid4())
    session.execute(t.appointment_types.insert().values(
        id=type_id, code=code, name=code.title(), category="consultation" if code == "consult" else "dosing_iv",
        duration_minutes=minutes, buffer_before_minutes=0, buffer_after_minutes=buffer_after, min_notice_minutes=120,
        horizon_days=60, slot_step_minutes=15, modality="in_person", room_kind=room_kind, requires_eligibility=False,
        requires_driver=False, cancel_notice_hours=24, reschedule_notice_hours=24, active=True))
    return type_id


def _room(session, location, index) -> str:
    room_id = f"chair-{index:02d}"
    session.execute(t.rooms.insert().values(id=room_id, location_id=location, name=f"Chair {index + 1}", kind="chair", active=True))
    return room_id


def _clinician(session, location, index, type_ids) -> str:
    clinician_id = f"clin-{index:02d}"
    session.execute(t.clinicians.insert().values(id=clinician_id, name=f"Clinician {index + 1}", role="prescriber", active=True))
    session.execute(t.clinician_appointment_types.insert(), [{"clinician_id": clinician_id, "appointment_type_id": x} for x in type_ids])
    hours = [(time(9), time(12, 30)), (time(13, 30), time(18))]
    session.execute(t.working_hours.insert(), [
        {"id": str(uuid.uuid4()), "clinician_id": clinician_id, "location_id": location, "weekday": day,
         "start_time": start, "end_time": end} for day in range(5) for start, end in hours
    ])
    return clinician_id


def _bookings(rng, first_day: date, clinicians, chairs, types, location, now, day_count: int = DAYS,
              count: int = BOOKINGS) -> list[dict]:
    """``count`` (5,000) non-overlapping bookings: each clinician fills random working slots; some use chairs."""
    rows, chair_busy = [], {chair: [] for chair in chairs}
    days = [first_day + timedelta(days=i) for i in range(day_count) if (first_day + timedelta(days=i)).weekday() < 5]
    per_clinician = count // len(clinicians)
    for clinician in clinicians:
        # A 90-minute grid: even an infusion with its recovery buffer (80 min) never overlaps the next.
        grid = [(d, h, m) for d in days for h, m in ((9, 0), (10, 30), (13, 30), (15, 0), (16, 30))]
        starts = sorted(rng.sample(grid, min(per_clinician, len(grid))))
        for day, hour, minute in starts:
            start = datetime.combine(day, time(hour, minute), ZONE).astimezone(timezone.utc)
            chair = _free_chair(chair_busy, start, start + timedelta(minutes=80)) if rng.random() < 0.25 else None
            kind, minutes, after = ("infusion", 50, 30) if chair else ("consult", 30, 0)
            end = start + timedelta(minutes=minutes)
            rows.append({
                "id": str(uuid.uuid4()), "appointment_type_id": types[kind], "clinician_id": clinician,
                "location_id": location, "room_id": chair, "start": start, "end": end, "blocked_start": start,
                "blocked_end": end + timedelta(minutes=after), "status": "booked", "sequence": 0,
                "patient_name": "Bench Patient", "patient_email": "bench@example.org", "patient_timezone": str(ZONE),
                "driver_confirmed": False, "created_by": "bench", "created_at": now, "updated_at": now,
            })
    return rows


def _free_chair(chair_busy, start, end):
    for chair, busy in chair_busy.items():
        if all(end <= s or e <= start for s, e in busy):
            busy.append((start, end))
            return chair
    return None


def _give_outcomes(rng, rows: list[dict]) -> None:
    """80 % completed, 6 % no-shows, 10 % cancelled (a third of them inside the 24 h notice), 4 % still
    booked; patients drawn from 1,000."""
    for row in rows:
        draw = rng.random()
        row["patient_email"] = f"bench{rng.randrange(1000)}@example.org"
        if draw < 0.80:
            row["status"] = "fulfilled"
        elif draw < 0.86:
            row["status"] = "noshow"
        elif draw < 0.96:
            row["status"] = "cancelled"
            row["updated_at"] = row["start"] - timedelta(hours=rng.choice([2, 12, 30, 72, 96, 200]))
