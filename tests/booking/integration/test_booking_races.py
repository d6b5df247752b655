"""Many patients, one slot: through gunicorn, 2 processes x 50 threads, exactly one booking wins."""
from __future__ import annotations

from collections import Counter

import pytest

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from support import races
from support.clinic import ClinicBuilder, patient
from support.races import booking_gunicorn

pytestmark = pytest.mark.integration
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
    with booking_gunicorn(clinic.url, tmp_path) as base:
        yield base


def race(server: str, bodies: list[dict]) -> Counter:
    """2 client processes, each releasing 50 simultaneous POSTs; the status codes counted."""
    return races.race(f"{server}/api/booking/v1/bookings", bodies, PROCESSES, THREADS)


def body(clinic, code: str, hour: int, minute: int = 0, clinician=None, email="pat@example.org") -> dict:
    request = {"appointment_type": code, "start": clinic.local(3, hour, minute).isoformat(), "patient": patient(email)}
    return request | ({"clinician_id": clinician} if clinician else {})


def overlapping_pairs(clinic, column: str) -> int:
    return races.overlapping_pairs(clinic.engine, column)


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
