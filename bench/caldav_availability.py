"""Availability with 50 connected calendars against none, for the large clinic, in the same run.

Three copies of the large clinic (bench/large_clinic.py: 50 clinicians, 10 chairs, 5,000 bookings,
same seed); in the second and third every clinician has a connected CalDAV calendar whose last sync
stored two busy ranges a day for the whole window: a lunch inside working hours and an evening
outside them (fewer slots to answer), or both outside working hours (the same slots as none).
The 7-day and 28-day consultation searches alternate request by request between the two, so both
see the same machine load. Syncing happens in the worker, out of band: an availability request
only reads the stored ranges, so the aim is within 1.2x of no calendars at all.

Run: .venv/bin/python bench/caldav_availability.py [iterations] [--json PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import date, datetime, time as clock_time, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from availability_http import postgres_available  # noqa: E402
from figures import add_json_option, record, write_json  # noqa: E402
from large_clinic import DAYS, ZONE, build_clinic, fresh_database  # noqa: E402

from kapbook_booking.adapters import tables as t  # noqa: E402
from kapbook_booking.entrypoints.wsgi import create_app  # noqa: E402

# Two a day: a lunch inside working hours and an evening outside them (the realistic case);
# and both outside working hours, so both sides offer the same slots (the pure cost of reading them).
REALISTIC = ((clock_time(12), clock_time(13)), (clock_time(19), clock_time(20)))
OUTSIDE_HOURS = ((clock_time(5), clock_time(6)), (clock_time(21), clock_time(22)))


def connect_calendars(container, first_day: date, busy_each_day) -> int:
    """Give every clinician a connected calendar with two synced busy ranges a day; returns how many ranges."""
    now = datetime.now(timezone.utc)
    with container.runtime.sessions.begin() as session:
        clinicians = list(session.execute(t.clinicians.select().with_only_columns(t.clinicians.c.id)).scalars())
        connections, busy = [], []
        for clinician in clinicians:
            connection = str(uuid.uuid4())
            connections.append({
                "id": connection, "clinician_id": clinician, "url": f"https://caldav.example.org/{clinician}/",
                "username": "bench", "password_sealed": "not-used", "timezone": str(ZONE), "push_bookings": True,
                "active": True, "next_sync_at": now + timedelta(days=1), "last_synced_at": now, "failed_syncs_in_row": 0,
                "busy_count": 0, "created_at": now, "updated_at": now,
            })
            for offset in range(-1, DAYS + 2):
                day = first_day + timedelta(days=offset)
                for start, end in busy_each_day:
                    busy.append({"connection_id": connection, "clinician_id": clinician,
                                 "start": datetime.combine(day, start, ZONE).astimezone(timezone.utc),
                                 "end": datetime.combine(day, end, ZONE).astimezone(timezone.utc)})
        session.execute(t.calendar_connections.insert(), connections)
        session.execute(t.calendar_busy.insert(), busy)
    return len(busy)


def alternate(clients: tuple, path: str, iterations: int) -> tuple[list[float], list[float], list[int]]:
    """Milliseconds of each request on each client, alternating (after one warm-up each), and the slot counts."""
    counts = []
    for client in clients:
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        counts.append(len(response.json["slots"]))
    timings: tuple[list[float], list[float]] = ([], [])
    for index in range(iterations):
        # Alternate which goes first too, so neither always follows the other's cache warming.
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            started = time.perf_counter()
            clients[which].get(path)
            timings[which].append((time.perf_counter() - started) * 1000)
    return timings[0], timings[1], counts


def measure(backend: str, iterations: int) -> list[dict]:
    databases = [fresh_database(backend) for _ in range(3)]
    try:
        (plain, first_day), *connected = [build_clinic(url) for url, _drop in databases]
        ranges = [connect_calendars(container, first_day, busy) for container, busy in zip(
            [container for container, _day in connected], (REALISTIC, OUTSIDE_HOURS))]
        records = []
        for (container, _day), busy, stored, where in zip(connected, (REALISTIC, OUTSIDE_HOURS), ranges,
                                                           ("lunch and evening", "outside working hours")):
            clients = (create_app(plain).test_client(), create_app(container).test_client())
            for days in (7, 28):
                last_day = first_day + timedelta(days=days - 1)
                path = f"/api/booking/v1/availability?appointment_type=consult&start={first_day}&end={last_day}&timezone={ZONE}"
                none_ms, fifty_ms, counts = alternate(clients, path, iterations)
                ratio = statistics.median(fifty_ms) / statistics.median(none_ms)
                setup = (f"{backend}, consult, {days} days; 50 calendars, {stored:,} busy ranges {where} "
                         f"({counts[1]} slots vs {counts[0]})")
                records += [
                    record("availability with 50 calendars p50", setup, round(statistics.median(fifty_ms), 1), "ms",
                           database=backend, days=days, busy=where, none_ms=round(statistics.median(none_ms), 1)),
                    record("50 calendars / none", setup, round(ratio, 2), "x", database=backend, days=days, busy=where),
                ]
        for container in [plain] + [container for container, _day in connected]:
            container.runtime.engine.dispose()
        return records
    finally:
        for _url, drop in databases:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("iterations", type=int, nargs="?", default=30, help="requests per measurement and side")
    add_json_option(parser)
    args = parser.parse_args()
    records = []
    for backend in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        for figure in measure(backend, args.iterations):
            print(f"{figure['metric']:<38}{figure['value']:>9} {figure['unit']:<3} {figure['setup']}")
            records.append(figure)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
