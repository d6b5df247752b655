"""Races through a real gunicorn: serve the booking app, fire simultaneous POSTs from client
processes (race_client.py), and count overlaps left in the database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import text

from support.pipeline import free_port
from support.waiting import wait_for

RACE_CLIENT = Path(__file__).parent / "race_client.py"


@contextmanager
def booking_gunicorn(database_url: str, var_dir: Path, workers: int = 4, threads: int = 8) -> Iterator[str]:
    """The booking app under gunicorn on a free port; yields its base URL."""
    port = free_port()
    env = os.environ | {"BOOKING_DATABASE_URL": database_url, "KAPBOOK_VAR_DIR": str(var_dir), "KAPBOOK_ENV": "test",
                        "KAPBOOK_LOG_LEVEL": "WARNING"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
         "kapbook_booking.entrypoints.wsgi:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), timeout=30, interval=0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def race(url: str, bodies: list[dict], processes: int, threads: int) -> Counter:
    """``processes`` client processes, each releasing ``threads`` simultaneous POSTs; the status codes counted."""
    clients = [
        subprocess.Popen([sys.executable, str(RACE_CLIENT), url, str(threads), json.dumps(bodies)], stdout=subprocess.PIPE)
        for _ in range(processes)
    ]
    codes = Counter()
    for client in clients:
        output, _ = client.communicate(timeout=300)
        codes.update(json.loads(output))
    return codes


def overlapping_pairs(engine, column: str) -> int:
    """Pairs of active bookings of one clinician (or room) whose blocked ranges overlap."""
    query = text(f"""
        SELECT count(*) FROM bookings a JOIN bookings b
          ON a.{column} = b.{column} AND a.id < b.id
         AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end
         WHERE a.status IN ('held', 'booked', 'arrived') AND b.status IN ('held', 'booked', 'arrived')
    """)
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()
