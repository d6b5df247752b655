"""The widget's question, timed as a patient's browser meets it: one week of availability for the
large clinic through real gunicorn over HTTP, next to ``GET /healthz`` on the same server in the
same run (issue 16 §1's headline).

50 clinicians, 10 chairs, 5,000 bookings. One client with a kept-alive connection asks, one request
at a time, for a week of a consultation (no room) and of an infusion (a chair each); the weeks
rotate through the next four, so no answer is asked for twice in a row. p50 and p99 of each, and
p50 as a multiple of the health check's p50. Aims: p50 <= 3x healthz, p99 <= 25 ms. SQLite, and
PostgreSQL when reachable.

Twice: with the answer cache on (the default: nothing is written meanwhile, so after each worker's
first answer per week it is the cache that answers, as for the many patients who look at the same
week between two bookings) and with it off (BOOKING_AVAILABILITY_CACHE_SECONDS=0: every answer
computed, as right after a booking).

Run: .venv/bin/python bench/availability_gunicorn.py [requests] [--json PATH]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))

from availability_http import postgres_available  # noqa: E402
from figures import add_json_option, percentile, record, write_json  # noqa: E402
from large_clinic import build_clinic, fresh_database  # noqa: E402
from processes import free_port, wait_for_port  # noqa: E402

WORKERS, THREADS = 2, 4
WEEKS = 4


def timed(session: requests.Session, url: str, count: int, params=lambda index: None) -> list[float]:
    """Milliseconds of ``count`` GETs, one at a time (each must answer 200)."""
    times = []
    for index in range(count):
        started = time.perf_counter()
        response = session.get(url, params=params(index), timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
    return times


def gunicorn(database_url: str, cache: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"BOOKING_DATABASE_URL": database_url, "KAPBOOK_ENV": "test", "KAPBOOK_LOG_LEVEL": "WARNING",
                        "KAPBOOK_VAR_DIR": tempfile.mkdtemp(prefix="kapbook-bench-"),
                        "BOOKING_AVAILABILITY_CACHE_SECONDS": "30" if cache else "0"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-b", f"127.0.0.1:{port}",
                               "-w", str(WORKERS), "--threads", str(THREADS), "kapbook_booking.entrypoints.wsgi:create_app()"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=60)
    return server, f"http://127.0.0.1:{port}"


def measure(backend: str, count: int) -> list[dict]:
    url, drop = fresh_database(backend)
    try:
        container, first_day = build_clinic(url)
        container.runtime.engine.dispose()
        return [figure for cache in (True, False) for figure in measure_server(backend, url, first_day, count, cache)]
    finally:
        drop()


def measure_server(backend: str, url: str, first_day, count: int, cache: bool) -> list[dict]:
    server, base = gunicorn(url, cache)
    try:
        session = requests.Session()
        timed(session, f"{base}/healthz", 50)  # warm every worker and connection
        health = timed(session, f"{base}/healthz", count)
        mode = "cache on" if cache else "cache off"
        setup = (f"{backend}, {mode}, 50 clinicians, 10 chairs, 5,000 bookings; gunicorn {WORKERS} workers x "
                 f"{THREADS} threads, one client")
        detail = {"database": backend, "cache": mode}
        records = [record("healthz p50", f"{backend}, {mode}, same gunicorn", round(statistics.median(health), 2), "ms",
                          **detail)]
        for code in ("consult", "infusion"):
            def week(index: int, code=code) -> dict:
                start = first_day + timedelta(weeks=index % WEEKS)
                return {"appointment_type": code, "start": start.isoformat(), "end": (start + timedelta(days=6)).isoformat(),
                        "timezone": "America/New_York"}

            path = f"{base}/api/booking/v1/availability"
            timed(session, path, WEEKS * WORKERS * 2, week)  # warm: each worker's first answers compile its queries
            found = timed(session, path, count, week)
            slots = len(session.get(path, params=week(0), timeout=30).json()["slots"])
            here = f"{setup}; {code} ({slots} slots in week 1)"
            p50 = statistics.median(found)
            records += [
                record("1-week availability p50", here, round(p50, 1), "ms", type=code, **detail),
                record("1-week availability p99", here, round(percentile(found, 0.99), 1), "ms", type=code, **detail),
                record("1-week availability / healthz p50", here, round(p50 / statistics.median(health), 2), "x",
                       type=code, healthz_ms=round(statistics.median(health), 2), **detail),
            ]
        return records
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requests", type=int, nargs="?", default=200, help="requests per figure")
    add_json_option(parser)
    args = parser.parse_args()
    records = []
    for backend in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        for figure in measure(backend, args.requests):
            print(f"{figure['metric']:<36}{figure['value']:>9} {figure['unit']:<3} {figure['setup']}")
            records.append(figure)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
