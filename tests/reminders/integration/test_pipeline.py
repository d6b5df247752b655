"""Through the real pipeline: booking HTTP API -> outbox relay -> broker -> reminders consumer -> SMTP.

The booking service runs on the real clock; the reminders service on a clock the test moves.
A patient books, reschedules and cancels with the manage link; each change arrives over
the broker, and exactly the right emails reach the SMTP server.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from kapbook_reminders.adapters import tables as t
from reminders_harness import body, check_email, event_of, invite_of
from support.clock import TravellingClock
from support.pipeline import Pipeline, next_weekday_at
from support.waiting import wait_for

pytestmark = pytest.mark.integration

PATIENT = "pat@example.org"
CLINIC = "Kapbook Demo Clinic"


@pytest.fixture
def pipeline(tmp_path, db, broker, database_factory, broker_url, broker_namespace):
    pipeline = Pipeline(tmp_path, database_factory("booking"), database_factory("reminders"), broker_url, broker_namespace)
    yield pipeline
    pipeline.close()


def travel(pipeline, clock: TravellingClock) -> None:
    """Put the reminders service on ``clock`` (the booking service keeps the real one)."""
    pipeline.reminders.clock = pipeline.reminders.planner.clock = pipeline.reminders.dispatcher.clock = clock


def planned(pipeline, booking_id: str, kind: str):
    def find():
        with pipeline.reminders.runtime.sessions() as session:
            return session.execute(
                select(t.messages.c.id).where(t.messages.c.booking_id == booking_id, t.messages.c.kind == kind)
            ).first()

    return wait_for(find, timeout=15)


def dispatch(pipeline, moment=None) -> list:
    """Dispatch (at ``moment``); the emails that arrived meanwhile (a Maildir has no order: compare ids)."""
    before = {message["Message-ID"] for message in pipeline.mail.to(PATIENT)}
    if moment is not None:
        pipeline.reminders.clock.set(moment)
    pipeline.reminders.dispatcher.dispatch_all_due()
    return [message for message in pipeline.mail.to(PATIENT) if message["Message-ID"] not in before]


def test_book_reschedule_cancel_over_the_broker(pipeline):
    clock = TravellingClock(datetime.now(UTC))
    travel(pipeline, clock)
    pipeline.start(dispatcher=False)
    first_start = next_weekday_at(10)

    booked = pipeline.book(first_start, PATIENT)
    assert booked.status_code == 201, booked.json
    booking_id = booked.json["id"]
    token = urlsplit(booked.json["manage_url"]).path.rsplit("/", 1)[1]
    planned(pipeline, booking_id, "confirmation")
    (confirmation,) = dispatch(pipeline)
    check_email(confirmation, PATIENT, CLINIC)
    first = event_of(invite_of(confirmation))
    assert (str(first["UID"]), first["SEQUENCE"]) == (f"{booking_id}@kapbook", 0)

    moved = pipeline.client.post(f"/api/booking/v1/manage/{token}/reschedule",
                                 json={"start": (first_start + timedelta(hours=1)).isoformat()})
    assert moved.status_code == 200, moved.json
    planned(pipeline, booking_id, "reschedule_notice")
    (notice,) = dispatch(pipeline)
    check_email(notice, PATIENT, CLINIC)
    assert notice["Subject"].startswith("Updated: your appointment on")
    changed = event_of(invite_of(notice))
    assert str(changed["UID"]) == str(first["UID"]) and changed["SEQUENCE"] == 1
    assert changed["DTSTART"].dt == first["DTSTART"].dt + timedelta(hours=1)
    assert "Previously:" in body(notice)

    cancelled = pipeline.client.post(f"/api/booking/v1/manage/{token}/cancel")
    assert cancelled.status_code == 200, cancelled.json
    planned(pipeline, booking_id, "cancellation_notice")
    (cancellation,) = dispatch(pipeline)
    check_email(cancellation, PATIENT, CLINIC)
    calendar = invite_of(cancellation)
    gone = event_of(calendar)
    assert str(calendar["METHOD"]) == "CANCEL" and str(gone["STATUS"]) == "CANCELLED"
    assert str(gone["UID"]) == str(first["UID"]) and gone["SEQUENCE"] == 2

    moment = clock()
    while moment < first_start + timedelta(days=3):
        moment += timedelta(hours=1)
        assert dispatch(pipeline, moment) == [], f"sent at {moment} after the cancellation"
    assert len(pipeline.mail.to(PATIENT)) == 3
