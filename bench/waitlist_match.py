"""Offering a cancelled slot to the best of 5,000 waiting patients, next to the cancellation itself.

The large clinic (50 clinicians, 10 chairs, 5,000 bookings) with 5,000 entries waiting for its
infusion type, each with one or two narrow weekly windows (so the match is rarely the first in
line). Each round cancels one future infusion (the reference, timed: one write with its event),
then times the waitlist worker's handling of the freed time: the best match found, the hold
placed, the offer and its event written. p50 and p99 of both, and the ratio; aim: the match's
p99 < 50 ms. SQLite, and PostgreSQL when reachable.

Run: .venv/bin/python bench/waitlist_match.py [rounds] [--json PATH]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from availability_http import postgres_available  # noqa: E402
from figures import add_json_option, percentile, record, write_json  # noqa: E402
from large_clinic import ZONE, build_clinic, fresh_database  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from kapbook_booking.adapters import tables as t  # noqa: E402
from kapbook_booking.domain.patients import secret_hash  # noqa: E402
from kapbook_platform.staff.principal import StaffPrincipal  # noqa: E402

ENTRIES = 5_000
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STAFF = StaffPrincipal("bench", "Bench", "front_desk", "bench")


def waiting_entries(rng: random.Random, type_id: str, now: datetime) -> list[dict]:
    """Entries joined over the last weeks, each wanting one or two 2–4 hour windows of its week."""
    rows = []
    for index in range(ENTRIES):
        windows = []
        for _ in range(rng.choice((1, 2))):
            start = rng.randrange(8, 17)
            windows.append({"weekdays": rng.sample(DAYS, rng.choice((1, 2))), "start": f"{start:02d}:00",
                            "end": f"{min(start + rng.choice((2, 3, 4)), 23):02d}:00"})
        joined = now - timedelta(days=30) + timedelta(minutes=index)
        rows.append({
            "id": str(uuid.uuid4()), "appointment_type_id": type_id, "clinician_id": None, "location_id": None,
            "patient_name": f"Waiting Patient {index}", "patient_email": f"waiting{index}@example.org",
            "patient_phone": None, "patient_timezone": str(ZONE), "screening_id": None, "windows": windows,
            "earliest_date": None, "latest_date": None, "status": "waiting",
            "leave_token_sha256": secret_hash(f"bench-{index}"), "created_by": "patient", "joined_at": joined,
            "expires_at": now + timedelta(days=30), "updated_at": joined,
        })
    return rows


def measure(backend: str, rounds: int) -> list[dict]:
    url, drop = fresh_database(backend)
    try:
        container, _first_day = build_clinic(url)
        now = datetime.now(timezone.utc)
        with container.runtime.sessions.begin() as session:
            type_id = session.execute(select(t.appointment_types.c.id).where(t.appointment_types.c.code == "infusion")).scalar_one()
            session.execute(t.waitlist_entries.insert(), waiting_entries(random.Random(11), type_id, now))
            future = list(session.execute(
                select(t.bookings.c.id).where(t.bookings.c.appointment_type_id == type_id, t.bookings.c.status == "booked",
                                              t.bookings.c.start > now + timedelta(hours=6))
                .order_by(t.bookings.c.start)).scalars())
        assert len(future) >= rounds, f"only {len(future)} future infusions to cancel"
        if backend == "postgresql":
            # What autovacuum does within a minute of a bulk insert: without statistics the planner
            # takes 5,000 entries for one row and sorts them all instead of reading the line's index.
            with container.runtime.engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
        waitlist = container.waitlist
        cancel_ms, match_ms, offered = [], [], 0
        for booking_id in random.Random(5).sample(future, rounds):
            started = time.perf_counter()
            container.lifecycle.cancel_by_staff(booking_id, STAFF, "bench")
            cancel_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            handled = waitlist.work_through_openings()
            match_ms.append((time.perf_counter() - started) * 1000)
            assert handled == 1
        with container.runtime.sessions() as session:
            offered = session.execute(select(t.waitlist_offers.c.id)).all()
        setup = (f"{backend}, {ENTRIES:,} waiting, 50 clinicians, 10 chairs, 5,000 bookings; "
                 f"{len(offered)} of {rounds} freed slots suited someone")
        container.runtime.engine.dispose()
        return [
            record("waitlist match p50", setup, round(statistics.median(match_ms), 1), "ms", database=backend),
            record("waitlist match p99", setup, round(percentile(match_ms, 0.99), 1), "ms", database=backend),
            record("waitlist match / cancellation p50", setup, round(statistics.median(match_ms) / statistics.median(cancel_ms), 2),
                   "x", database=backend, cancellation_ms=round(statistics.median(cancel_ms), 1)),
        ]
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", type=int, nargs="?", default=100, help="cancellations to offer")
    add_json_option(parser)
    args = parser.parse_args()
    records = []
    for backend in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        for figure in measure(backend, args.rounds):
            print(f"{figure['metric']:<36}{figure['value']:>9} {figure['unit']:<3} {figure['setup']}")
            records.append(figure)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
