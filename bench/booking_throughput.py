"""Booking creation throughput through gunicorn on PostgreSQL, next to a trivial endpoint.

The same gunicorn setup (4 workers x 4 threads) serves both; a client process with 16 threads
sends requests for a fixed time. Bookings go to distinct free slots of the large clinic, so the
figure measures real bookings (each one: validation, availability re-check, insert under the
exclusion constraint, outbox row), not refusals.

Run: .venv/bin/python bench/booking_throughput.py [seconds] [--json PATH]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))

from figures import add_json_option, record, write_json  # noqa: E402
from large_clinic import build_clinic, fresh_database  # noqa: E402
from processes import free_port  # noqa: E402

CLIENT_THREADS = 16


def spaced_slots(slots: list[dict], gap: timedelta) -> list[dict]:
    """Slots no two of which overlap for the same clinician (at least ``gap`` apart)."""
    from datetime import datetime

    last: dict[str, datetime] = {}
    chosen = []
    for slot in slots:
        start = datetime.fromisoformat(slot["start"])
        previous = last.get(slot["clinician_id"])
        if previous is None or start - previous >= gap:
            last[slot["clinician_id"]] = start
            chosen.append(slot)
    return chosen


def hammer(send, seconds: float) -> tuple[int, dict[int, int]]:
    """Call ``send(i)`` from many threads for ``seconds``; returns (requests, status counts)."""
    deadline = time.monotonic() + seconds
    counts: dict[int, int] = {}
    lock = threading.Lock()
    index = iter(range(10**9))

    def worker() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            try:
                status = send(session, next(index))
            except IndexError:
                return
            with lock:
                counts[status] = counts.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return sum(counts.values()) / elapsed, counts


def as_records(trivial_rate: float, booking_rate: float, booking_codes: dict[int, int], seconds: float) -> list[dict]:
    setup = f"PostgreSQL, gunicorn 4 workers x 4 threads, {CLIENT_THREADS} client threads, {seconds:g} s"
    created = booking_codes.get(201, 0)
    return [
        record("trivial throughput", f"GET /healthz; {setup}", round(trivial_rate), "req/s"),
        record("booking throughput", f"POST /bookings; {setup}", round(booking_rate), "req/s",
               statuses={str(code): n for code, n in booking_codes.items()},
               note=f"{created} of {sum(booking_codes.values())} answered 201"),
        record("booking/trivial ratio", setup, round(booking_rate / trivial_rate, 3), "x"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seconds", type=float, nargs="?", default=10, help="how long each endpoint is hammered")
    add_json_option(parser)
    args = parser.parse_args()
    seconds = args.seconds
    url, drop = fresh_database("postgresql")
    server = None
    try:
        container, first_day = build_clinic(url)
        from kapbook_booking.entrypoints.app import create_app

        client = create_app(container).test_client()
        availability = client.get(f"/api/booking/v1/availability?appointment_type=consult&start={first_day}"
                                  f"&end={first_day + timedelta(days=27)}&timezone=UTC").json["slots"]
        slots = spaced_slots(availability, timedelta(minutes=45))
        container.runtime.engine.dispose()
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

        trivial_rate, trivial_codes = hammer(lambda s, i: s.get(f"{base}/healthz").status_code, seconds)

        def book(session, i):
            slot = slots[i]
            body = {"appointment_type": "consult", "start": slot["start"], "clinician_id": slot["clinician_id"],
                    "patient": {"name": "Bench", "email": f"p{i}@example.org", "timezone": "UTC"}}
            return session.post(f"{base}/api/booking/v1/bookings", json=body).status_code

        booking_rate, booking_codes = hammer(book, seconds)
        print(f"gunicorn 4 workers x 4 threads, PostgreSQL, {CLIENT_THREADS} client threads, {seconds:g} s each")
        print(f"{'endpoint':<22}{'req/s':>9}  statuses")
        print(f"{'GET /healthz':<22}{trivial_rate:>9.0f}  {trivial_codes}")
        print(f"{'POST /bookings':<22}{booking_rate:>9.0f}  {booking_codes}")
        print(f"booking / trivial ratio: {booking_rate / trivial_rate:.2f}")
        write_json(args.json, as_records(trivial_rate, booking_rate, booking_codes, seconds))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()


if __name__ == "__main__":
    main()
