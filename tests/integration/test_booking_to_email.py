"""End to end: a booking over HTTP becomes exactly one confirmation email at a real SMTP server."""
from __future__ import annotations

import time

import pytest
from icalendar import Calendar

from support.pipeline import Pipeline, next_weekday_at
from support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(tmp_path, db, broker, database_factory, broker_url, broker_namespace):
    pipeline = Pipeline(tmp_path, database_factory("booking"), database_factory("reminders"), broker_url, broker_namespace)
    yield pipeline
    pipeline.close()


def test_booking_produces_exactly_one_confirmation_email(pipeline):
    pipeline.start()
    started = time.monotonic()

    response = pipeline.book(next_weekday_at(10))

    assert response.status_code == 201, response.json
    emails = wait_for(lambda: pipeline.mail.to("pat@example.org"), timeout=5)
    lag = time.monotonic() - started
    assert lag < 3, f"confirmation took {lag:.2f}s"
    time.sleep(0.5)  # anything duplicated would have arrived by now
    emails = pipeline.mail.to("pat@example.org")
    assert len(emails) == 1
    confirmation = emails[0]
    assert confirmation["Subject"].startswith("Your appointment on")
    invite = next(part for part in confirmation.walk() if part.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(invite.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["UID"]).startswith(response.json["id"])


def test_correlation_id_travels_from_request_into_the_event(pipeline):
    response = pipeline.book(next_weekday_at(11), **{"X-Correlation-ID": "req-abc-123"})

    assert response.headers["X-Correlation-ID"] == "req-abc-123"
    outbox = pipeline.booking.runtime.tables["outbox"]
    with pipeline.booking.runtime.engine.connect() as connection:
        envelope = connection.execute(outbox.select()).mappings().one()["envelope"]
    assert envelope["correlationid"] == "req-abc-123"
    assert envelope["specversion"] == "1.0" and envelope["type"] == "kapbook.booking.created.v1"


def test_booking_made_while_broker_is_down_is_emailed_once_it_is_back(pipeline, broker_url):
    pipeline.start(relay=False)
    unreachable = pipeline.booking.runtime.relay()
    unreachable.connection = type(unreachable.connection)("amqp://guest:guest@127.0.0.1:1//", connect_timeout=0.5)

    response = pipeline.book(next_weekday_at(14))
    assert response.status_code == 201
    with pytest.raises(Exception):
        unreachable.publish_pending()
    assert unreachable.pending_count() == 1, "the event must wait in the outbox"
    assert pipeline.mail.to("pat@example.org") == []

    pipeline.start(consumer=False, dispatcher=False, mail=False)  # the broker is back: a relay that reaches it
    assert len(wait_for(lambda: pipeline.mail.to("pat@example.org"), timeout=10)) == 1
    time.sleep(0.5)
    assert len(pipeline.mail.to("pat@example.org")) == 1
    assert unreachable.pending_count() == 0
