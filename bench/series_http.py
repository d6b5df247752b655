"""Treatment series on the large clinic: proposal latency next to availability, and booking throughput
per session next to single bookings.

1. Proposal: ``GET /series/proposals`` for a 6-session IV protocol (24 h apart, 3 a week, 21 days)
   through the Flask app, next to one 1-week availability request of the same infusion type in the
   same run; p50, p99 and their ratio (aim <= 3). SQLite, and PostgreSQL when reachable.
2. Throughput (PostgreSQL, gunicorn 4 workers x 4 threads, 16 client threads): ``POST /series`` of
   6-session plans, then (the same chairs freed again) ``POST /bookings`` of the same sessions one by
   one; each names its clinician, as the widget sends the proposal's. Sessions booked per second,
   and series/single (aim >= 30 %).

Run: .venv/bin/python bench/series_http.py [iterations] [--seconds S] [--json PATH]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import delete, text

sys.path.insert(0, str(Path(__file__).parent))

from availability_http import postgres_available  # noqa: E402
from booking_throughput import CLIENT_THREADS, hammer  # noqa: E402
from figures import add_json_option, percentile, record, write_json  # noqa: E402
from large_clinic import ZONE, build_clinic, fresh_database  # noqa: E402
from processes import free_port  # noqa: E402

from kapbook_booking.adapters import tables as t  # noqa: E402
from kapbook_booking.entrypoints.wsgi import create_app  # noqa: E402

API = "/api/booking/v1"
PROTOCOL = "iv-bench"
DAILY_STARTS = ((9, 0), (10, 30), (13, 30), (15, 0), (16, 30))  # an infusion and its recovery (80 min) each
CHAIRS = 10


def add_protocol(container) -> None:
    with container.runtime.sessions.begin() as session:
        type_id = session.execute(text("SELECT id FROM appointment_types WHERE code = 'infusion'")).scalar_one()
        session.execute(t.protocols.insert().values(
            id=str(uuid.uuid4()), code=PROTOCOL, name="IV induction", appointment_type_id=type_id, sessions=6,
            min_gap_hours=24, max_window_days=21, max_per_week=3, requires_preparation=False, active=True))


def first_plannable_start(client, first_day: date) -> str:
    """The first weekday start (from the third day) whose whole plan exists: the figure is a real proposal.

    The large clinic's chairs are nearly full for its four busy weeks, so this is late in them: the
    21-day window spans busy and free days."""
    for offset in range(2, 40):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour, minute in DAILY_STARTS:
            start = datetime.combine(day, datetime.min.time().replace(hour=hour, minute=minute), ZONE).isoformat()
            if client.get(proposal_path(start)).status_code == 200:
                return start
    raise RuntimeError("no whole plan exists in the large clinic")


def proposal_path(start: str) -> str:
    query = requests.models.RequestEncodingMixin._encode_params({"protocol": PROTOCOL, "start": start, "timezone": "Europe/Berlin"})
    return f"{API}/series/proposals?{query}"


def timed(client, path: str, iterations: int) -> list[float]:
    timings = []
    for _ in range(iterations):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.json
    return timings


def measure_proposals(backend: str, iterations: int) -> list[dict]:
    url, drop = fresh_database(backend)
    try:
        container, first_day = build_clinic(url)
        add_protocol(container)
        client = create_app(container).test_client()
        start = first_plannable_start(client, first_day)
        week = (f"{API}/availability?appointment_type=infusion&start={first_day}&end={first_day + timedelta(days=6)}"
                f"&timezone=Europe/Berlin")
        # Interleaved, so both see the same machine load.
        proposal, availability = [], []
        for _ in range(iterations):
            proposal += timed(client, proposal_path(start), 1)
            availability += timed(client, week, 1)
        container.runtime.engine.dispose()
    finally:
        drop()
    p50, p99 = statistics.median(proposal), percentile(proposal, 0.99)
    a50, a99 = statistics.median(availability), percentile(availability, 0.99)
    setup = f"{backend}, 6-session IV protocol, large clinic (50 clinicians, 10 chairs, 5,000 bookings), Flask test client"
    detail = {"database": backend, "iterations": iterations}
    print(f"{backend:<11} proposal p50 {p50:6.1f} ms p99 {p99:6.1f} ms | 1-week availability p50 {a50:6.1f} ms "
          f"p99 {a99:6.1f} ms | ratio p50 {p50 / a50:.2f}")
    return [
        record("series proposal p50", setup, round(p50, 1), "ms", **detail),
        record("series proposal p99", setup, round(p99, 1), "ms", **detail),
        record("1-week availability p50 (same run)", setup.replace("6-session IV protocol", "infusion"), round(a50, 1), "ms", **detail),
        record("1-week availability p99 (same run)", setup.replace("6-session IV protocol", "infusion"), round(a99, 1), "ms", **detail),
        record("series proposal / availability p50", setup, round(p50 / a50, 2), "x", **detail),
    ]


def plans(first_day: date) -> list[tuple[str, list[str]]]:
    """Non-overlapping 6-session plans after the large clinic's busy four weeks: for each time and day
    pattern, one plan per chair, each with its own clinician (as the widget sends the proposal's)."""
    monday = first_day + timedelta(days=29)
    monday += timedelta(days=(7 - monday.weekday()) % 7)
    patterns = [[0, 2, 4, 7, 9, 11], [1, 3, 8, 10, 15, 17]]  # Mon/Wed/Fri x 2 weeks; Tue/Thu x 3 weeks
    groups = []
    for days in patterns:
        for hour, minute in DAILY_STARTS:
            groups.append([datetime.combine(monday + timedelta(days=d), datetime.min.time().replace(hour=hour, minute=minute),
                                            ZONE).isoformat() for d in days])
    # Interleaved: consecutive requests want different times, as real patients would.
    return [(f"clin-{chair:02d}", group) for chair in range(CHAIRS) for group in groups]


def measure_throughput(seconds: float) -> list[dict]:
    url, drop = fresh_database("postgresql")
    server = None
    try:
        container, first_day = build_clinic(url)
        add_protocol(container)
        engine = container.runtime.engine
        all_plans = plans(first_day)
        port = free_port()
        env = os.environ | {"BOOKING_DATABASE_URL": url, "KAPBOOK_ENV": "test", "KAPBOOK_LOG_LEVEL": "WARNING",
                            "KAPBOOK_VAR_DIR": tempfile.mkdtemp(prefix="kapbook-bench-")}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        server = subprocess.Popen([str(gunicorn), "-b", f"127.0.0.1:{port}", "-w", "4", "--threads", "4",
                                   "kapbook_booking.entrypoints.wsgi:create_app()"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)

        def book_series(session, i):
            clinician, starts = all_plans[i]
            body = {"protocol": PROTOCOL, "timezone": "UTC", "sessions": [{"start": s, "clinician_id": clinician} for s in starts],
                    "patient": {"name": "Bench", "email": f"s{i}@example.org", "timezone": "UTC"}}
            return session.post(f"{base}{API}/series", json=body).status_code

        series_rate, series_codes = hammer(book_series, seconds)
        series_sessions = series_rate * series_codes.get(201, 0) / max(1, sum(series_codes.values())) * 6
        with engine.begin() as connection:  # free the chairs again for the single bookings
            connection.execute(delete(t.bookings).where(t.bookings.c.series_id.is_not(None)))
            connection.execute(delete(t.series))
        singles = [(clinician, start) for clinician, starts in all_plans for start in starts]

        def book_single(session, i):
            clinician, start = singles[i]
            body = {"appointment_type": "infusion", "start": start, "clinician_id": clinician,
                    "patient": {"name": "Bench", "email": f"b{i}@example.org", "timezone": "UTC"}}
            return session.post(f"{base}{API}/bookings", json=body).status_code

        single_rate, single_codes = hammer(book_single, seconds)
        single_sessions = single_rate * single_codes.get(201, 0) / max(1, sum(single_codes.values()))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()
    ratio = series_sessions / single_sessions
    setup = f"PostgreSQL, gunicorn 4 workers x 4 threads, {CLIENT_THREADS} client threads, up to {seconds:g} s, infusion with a chair"
    print(f"POST /series   {series_sessions:7.1f} sessions/s  {series_codes}")
    print(f"POST /bookings {single_sessions:7.1f} sessions/s  {single_codes}")
    print(f"series / single per session booked: {ratio:.0%}")
    return [
        record("series booking throughput", f"POST /series (6 sessions); {setup}", round(series_sessions, 1), "sessions/s",
               note=f"{series_codes.get(201, 0)} of {sum(series_codes.values())} series answered 201"),
        record("single booking throughput (same run)", f"POST /bookings; {setup}", round(single_sessions, 1), "sessions/s",
               note=f"{single_codes.get(201, 0)} of {sum(single_codes.values())} answered 201"),
        record("series/single throughput per session", setup, round(ratio * 100), "%"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("iterations", type=int, nargs="?", default=50, help="proposal and availability requests per database")
    parser.add_argument("--seconds", type=float, default=10, help="longest each booking endpoint is hammered")
    add_json_option(parser)
    args = parser.parse_args()
    records = []
    for backend in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        records += measure_proposals(backend, args.iterations)
    records += measure_throughput(args.seconds)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
