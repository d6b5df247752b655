"""The outbox relay is woken by the commit that adds an event, on SQLite (a local socket) and on
PostgreSQL (LISTEN/NOTIFY), instead of waiting for its next poll; a rolled-back transaction
wakes nobody; a second relay of the same SQLite database falls back to polling."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine
from sqlalchemy.orm import sessionmaker

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.messaging.wakeup import LocalWakeup, wakeup_for
from support.clinic import ClinicBuilder, patient
from support.waiting import wait_for

pytestmark = pytest.mark.integration
SLOW_POLL = 5.0  # seconds: a relay that only polled would take this long


@pytest.fixture
def engine(db, database_factory):
    engine = create_engine(database_factory("wakeup"))
    metadata = MetaData()
    Table("work", metadata, Column("id", Integer, primary_key=True))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_a_commit_wakes_the_listener_and_a_rollback_does_not(engine):
    wakeup = wakeup_for(engine, "test-channel")
    listener = wakeup.listener()
    sessions = sessionmaker(engine)
    try:
        assert listener.wait(0.05) is False
        with sessions() as session:
            session.execute(Table("work", MetaData(), autoload_with=engine).insert().values(id=1))
            wakeup.signal(session)
            wakeup.signal(session)  # twice in one transaction: one wake-up
            assert listener.wait(0.2) is False  # not before the commit
            session.rollback()
        assert listener.wait(0.2) is False

        with sessions.begin() as session:
            session.execute(Table("work", MetaData(), autoload_with=engine).insert().values(id=2))
            wakeup.signal(session)
        started = time.monotonic()
        assert listener.wait(SLOW_POLL) is True
        assert time.monotonic() - started < 1
        assert listener.wait(0.05) is False  # drained: one commit, one wake-up
    finally:
        listener.close()


def test_a_second_local_listener_cannot_bind_and_just_waits():
    first = LocalWakeup("sqlite:///same.db|outbox").listener()
    second = LocalWakeup("sqlite:///same.db|outbox").listener()
    try:
        started = time.monotonic()
        assert second.wait(0.1) is False
        assert time.monotonic() - started >= 0.09
    finally:
        first.close()
        second.close()


def test_the_relay_publishes_a_new_booking_event_long_before_its_next_poll(tmp_path, db, database_factory):
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                                        eligibility_url="http://127.0.0.1:1"))
    container.migrate()
    clinic = ClinicBuilder(container.runtime.sessions)
    clinic.clinician("Dr A", [clinic.appointment_type("consult", 30)])
    relay, stop = container.runtime.relay(), threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_interval": SLOW_POLL}, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # the relay's first pass found nothing; it now waits up to SLOW_POLL
        client = create_app(container).test_client()
        booked = client.post("/api/booking/v1/bookings", json={
            "appointment_type": "consult", "start": clinic.local(3, 10).isoformat(), "patient": patient()})
        assert booked.status_code == 201, booked.json
        committed = time.monotonic()
        wait_for(lambda: container.runtime.relay().pending_count() == 0, timeout=SLOW_POLL - 1, interval=0.02)
        assert time.monotonic() - committed < 1.5
    finally:
        stop.set()
        thread.join(timeout=SLOW_POLL + 5)
        container.runtime.engine.dispose()
