"""Availability latency end to end through the Flask app, for a large clinic.

50 clinicians, 10 chairs, 5,000 existing bookings; one 4-week availability request per
iteration, for a type that needs a chair and one that does not. SQLite always; PostgreSQL too
when it is reachable (KAPBOOK_TEST_POSTGRES_URL or 127.0.0.1:5432).

Run: .venv/bin/python bench/availability_http.py [iterations] [--json PATH]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).parent))

from figures import add_json_option, percentile, record, write_json  # noqa: E402
from large_clinic import build_clinic, fresh_database  # noqa: E402

from kapbook_booking.adapters.repository import appointment_type_by_code  # noqa: E402
from kapbook_booking.adapters.schedules import load_schedules  # noqa: E402
from kapbook_booking.domain.availability import find_slots  # noqa: E402
# The production entry point (gunicorn's), so the figures include what it does at start.
from kapbook_booking.entrypoints.wsgi import create_app  # noqa: E402
from kapbook_booking.service_layer.availability import AvailabilityQuery  # noqa: E402


def measure(backend: str, iterations: int) -> list[tuple]:
    url, drop = fresh_database(backend)
    try:
        container, first_day = build_clinic(url)
        client = create_app(container).test_client()
        results = []
        for code in ("consult", "infusion"):
            path = (f"/api/booking/v1/availability?appointment_type={code}&start={first_day}"
                    f"&end={first_day + timedelta(days=27)}&timezone=Europe/Berlin")
            response = client.get(path)
            assert response.status_code == 200, response.json
            slots = len(response.json["slots"])
            timings = []
            for _ in range(iterations):
                started = time.perf_counter()
                client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
            engine_p50 = engine_alone(container, code, first_day, iterations)
            results.append((backend, code, slots, statistics.median(timings), percentile(timings, 0.99), engine_p50))
        container.runtime.engine.dispose()
        return results
    finally:
        drop()


def engine_alone(container, code: str, first_day, iterations: int) -> float:
    """p50 ms of the availability engine by itself on the same question: the schedules and rooms read
    once beforehand, then only ``find_slots`` timed (the reference the HTTP answer is held to)."""
    query = AvailabilityQuery(code, first_day, first_day + timedelta(days=27), "Europe/Berlin")
    now = datetime.now(timezone.utc)
    with container.runtime.sessions() as session:
        kind = appointment_type_by_code(session, code)
        window_start, window_end = query.utc_window(60)
        schedules, rooms = load_schedules(session, kind, window_start, window_end, now)
    rules, timings = kind.availability_rules(), []
    for _ in range(iterations):
        started = time.perf_counter()
        find_slots(rules, schedules, rooms, now=now, window_start=window_start, window_end=window_end)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def postgres_available() -> bool:
    url = urlparse(os.environ.get("KAPBOOK_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/postgres"))
    try:
        socket.create_connection((url.hostname or "127.0.0.1", url.port or 5432), timeout=1).close()
        return True
    except OSError:
        return False


def as_records(row: tuple, iterations: int) -> list[dict]:
    backend, code, slots, p50, p99, engine_p50 = row
    setup = f"{backend}, {code}, 4 weeks ({slots} slots), Flask test client"
    detail = {"database": backend, "appointment_type": code, "iterations": iterations}
    return [record("availability p50", setup, round(p50, 1), "ms", **detail),
            record("availability p99", setup, round(p99, 1), "ms", **detail),
            record("4-week availability / engine alone p50", setup + f"; engine alone {engine_p50:.1f} ms",
                   round(p50 / engine_p50, 2), "x", engine_ms=round(engine_p50, 2), **detail)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("iterations", type=int, nargs="?", default=50, help="requests per database and type")
    add_json_option(parser)
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    print(f"availability, 4 weeks, 50 clinicians, 10 chairs, 5,000 bookings; {args.iterations} requests each")
    print(f"{'database':<11}{'type':<10}{'slots':>7}{'p50 ms':>9}{'p99 ms':>9}{'engine ms':>11}")
    records = []
    for backend in backends:
        for row in measure(backend, args.iterations):
            print(f"{row[0]:<11}{row[1]:<10}{row[2]:>7}{row[3]:>9.1f}{row[4]:>9.1f}{row[5]:>11.1f}")
            records += as_records(row, args.iterations)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
