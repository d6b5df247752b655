"""Patients racing for overlapping series through real gunicorn (2 worker processes x 20 threads,
raced by 2 client processes x 20 threads): exactly one series wins, the others get 409, and no
partial series or overlap exists."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from support.clinic import ClinicBuilder
from support.races import booking_gunicorn, overlapping_pairs, race
from support.series import add_protocol, next_monday_at, series_body

pytestmark = pytest.mark.integration
PROCESSES, THREADS = 2, 20


@pytest.fixture
def clinic(tmp_path, db, database_factory):
    """One nurse and one chair: every session of every racing series contends for them."""
    url = database_factory("booking")
    container = bootstrap(BookingConfig(database_url=url, var_dir=tmp_path, env="test"))
    container.migrate()
    clinic = ClinicBuilder(container.runtime.sessions)
    clinic.infusion = clinic.appointment_type("infusion", 50, room_kind="chair", buffer_after_minutes=30)
    clinic.nurse = clinic.clinician("Nurse A", [clinic.infusion])
    clinic.other_nurse = clinic.clinician("Nurse B", [clinic.infusion])
    clinic.chair = clinic.room("chair")
    add_protocol(clinic, "iv-3", clinic.infusion, 3, max_per_week=None)
    clinic.url, clinic.engine = url, container.runtime.engine
    yield clinic
    container.runtime.engine.dispose()


@pytest.fixture
def server(clinic, tmp_path):
    with booking_gunicorn(clinic.url, tmp_path, workers=PROCESSES, threads=THREADS) as base:
        yield base


def partial_series(clinic) -> int:
    """Series whose live sessions are fewer than their size (none may exist)."""
    query = text("""
        SELECT count(*) FROM series s
         WHERE s.size <> (SELECT count(*) FROM bookings b WHERE b.series_id = s.id AND b.status = 'booked')
    """)
    with clinic.engine.connect() as connection:
        return connection.execute(query).scalar_one()


def count(clinic, sql: str) -> int:
    with clinic.engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def test_overlapping_series_race_gives_exactly_one_whole_series(clinic, server):
    monday = next_monday_at(clinic.zone, 10)
    # Each patient's plan shares one session (Wednesday 10:00) with the next patient's, in the one chair.
    plans = [
        [monday, monday + timedelta(days=2), monday + timedelta(days=4)],
        [monday + timedelta(days=1), monday + timedelta(days=2, minutes=30), monday + timedelta(days=4)],
        [monday + timedelta(days=2, minutes=-30), monday + timedelta(days=5), monday + timedelta(days=6)],
    ]
    bodies = [series_body(plan, email=f"p{i}@example.org", protocol="iv-3") for i, plan in enumerate(plans)]
    codes = race(f"{server}/api/booking/v1/series", bodies, PROCESSES, THREADS)
    assert codes[201] == 1 and codes[409] == PROCESSES * THREADS - 1, codes
    assert count(clinic, "SELECT count(*) FROM series") == 1
    assert count(clinic, "SELECT count(*) FROM bookings") == 3
    assert partial_series(clinic) == 0
    assert overlapping_pairs(clinic.engine, "room_id") == 0
    assert overlapping_pairs(clinic.engine, "clinician_id") == 0
