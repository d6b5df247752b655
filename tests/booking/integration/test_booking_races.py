"""Many patients, one slot: through gunicorn, 2 processes x 50 threads, exactly one booking wins."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from support.clinic import ClinicBuilder, patient
from support.pipeline import free_port
from support.waiting import wait_for

pytestmark = pytest.mark.integration
RACE_CLIENT = Path(__file__).parents[2] / "support" / "race_client.py"
PROCESSES, THREADS = 2, 50


@pytest.fixture
def clinic(tmp_path, db, database_factory):
    url = database_factory("booking")
    container = bootstrap(BookingConfig(database_url=url, var_dir=tmp_path, env="test"))
    container.migrate()
    clinic = ClinicBuilder(container.runtime.sessions)
    consult = clinic.appointment_type("consult", 30, buffer_after_minutes=10)
    long_session = clinic.appointment_type("long", 90)
    infusion = clinic.appointment_type("infusion", 50, room_kind="chair", buffer_after_minutes=30)
    clinic.dr_a = clinic.clinician("Dr A", [consult, long_session, infusion])
    clinic.dr_b = clinic.clinician("Dr B", [infusion])
    clinic.chair = clinic.room("chair")
    clinic.url, clinic.engine = url, container.runtime.engine
    yield clinic
    container.runtime.engine.dispose()


@pytest.fixture
def server(clinic, tmp_path):
    port = free_port()
    env = os.environ | {"BOOKING_DATABASE_URL": clinic.url, "KAPBOOK_VAR_DIR": str(tmp_path), "KAPBOOK_ENV": "test",
                        "KAPBOOK_LOG_LEVEL": "WARNING"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "4", "--threads", "8",
         "kapbook_booking.entrypoints.wsgi:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _healthy(base), timeout=30, interval=0.2)
    yield base
    process.terminate()
    process.wait(timeout=30)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def race(server: str, bodies: list[dict]) -> Counter:
    """2 client processes, each releasing 50 simultaneous POSTs; the status codes counted."""
    clients = [
        subprocess.Popen([sys.executable, str(RACE_CLIENT), f"{server}/api/booking/v1/bookings", str(THREADS),
                          json.dumps(bodies)], stdout=subprocess.PIPE)
        for _ in range(PROCESSES)
    ]
    codes = Counter()
    for client in clients:
        output, _ = client.communicate(timeout=300)
        codes.update(json.loads(output))
    return codes


def body(clinic, code: str, hour: int, minute: int = 0, clinician=None, email="pat@example.org") -> dict:
    request = {"appointment_type": code, "start": clinic.local(3, hour, minute).isoformat(), "patient": patient(email)}
    return request | ({"clinician_id": clinician} if clinician else {})


def overlapping_pairs(clinic, column: str) -> int:
    query = text(f"""
        SELECT count(*) FROM bookings a JOIN bookings b
          ON a.{column} = b.{column} AND a.id < b.id
         AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end
         WHERE a.status IN ('held', 'booked', 'arrived') AND b.status IN ('held', 'booked', 'arrived')
    """)
    with clinic.engine.connect() as connection:
        return connection.execute(query).scalar_one()


def test_one_hundred_requests_for_one_slot_give_exactly_one_booking(clinic, server):
    codes = race(server, [body(clinic, "consult", 10, email=f"p{i}@example.org") for i in range(5)])
    assert codes == Counter({201: 1, 409: PROCESSES * THREADS - 1}), codes
    assert overlapping_pairs(clinic, "clinician_id") == 0


def test_overlapping_bookings_of_different_durations_give_exactly_one_booking(clinic, server):
    bodies = [body(clinic, "consult", 10), body(clinic, "long", 9, 30), body(clinic, "consult", 10, 30),
              body(clinic, "long", 10, 15)]
    codes = race(server, bodies)
    assert codes[201] == 1 and codes[409] == PROCESSES * THREADS - 1, codes
    assert overlapping_pairs(clinic, "clinician_id") == 0


def test_two_clinicians_contending_for_one_chair_give_exactly_one_booking(clinic, server):
    bodies = [body(clinic, "infusion", 10, clinician=clinic.dr_a), body(clinic, "infusion", 10, 30, clinician=clinic.dr_b)]
    codes = race(server, bodies)
    assert codes[201] == 1 and codes[409] == PROCESSES * THREADS - 1, codes
    assert overlapping_pairs(clinic, "room_id") == 0
