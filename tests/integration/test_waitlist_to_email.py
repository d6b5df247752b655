"""The waitlist end to end: a cancellation becomes exactly one offer email to the right patient,
its link books the time, and a booking service that stops between the hold and the email loses
no offer and sends none twice. Real SMTP sink, real broker (filesystem or RabbitMQ), SQLite or
PostgreSQL."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from kapbook_booking.bootstrap import bootstrap as bootstrap_booking
from kapbook_booking.service_layer.waitlist import waitlist_loop
from support.clinic import issue_test_staff_token
from support.pipeline import Pipeline, next_weekday_at
from support.waiting import wait_for

pytestmark = pytest.mark.integration

OFFER_LINK = re.compile(r"http://[^\s\"]+/waitlist/offers/[A-Za-z0-9_-]{40,}")


@pytest.fixture
def pipeline(tmp_path, db, broker, database_factory, broker_url, broker_namespace):
    pipeline = Pipeline(tmp_path, database_factory("booking"), database_factory("reminders"), broker_url, broker_namespace)
    yield pipeline
    pipeline.close()


def book_evaluation(pipeline: Pipeline, start: datetime, email: str) -> dict:
    response = pipeline.client.post("/api/booking/v1/bookings", json={
        "appointment_type": "medical-evaluation", "start": start.isoformat(),
        "patient": {"name": "Booked Patient", "email": email, "timezone": "America/New_York"}})
    assert response.status_code == 201, response.json
    return response.json


def join_for(pipeline: Pipeline, booking: dict, email: str, name: str) -> dict:
    """Wait for exactly the booked time: its weekday and hours, that day only, that clinician."""
    local_start = datetime.fromisoformat(booking["start"]).astimezone(ZoneInfo("America/New_York"))
    local_end = datetime.fromisoformat(booking["end"]).astimezone(ZoneInfo("America/New_York"))
    response = pipeline.client.post("/api/booking/v1/waitlist", json={
        "appointment_type": "medical-evaluation", "clinician_id": booking["clinician_id"],
        "windows": [{"weekdays": [local_start.strftime("%a").lower()], "start": local_start.strftime("%H:%M"),
                     "end": local_end.strftime("%H:%M")}],
        "earliest_date": local_start.date().isoformat(), "latest_date": local_start.date().isoformat(),
        "patient": {"name": name, "email": email, "timezone": "America/New_York"}})
    assert response.status_code == 201, response.json
    return response.json


def cancel_by_staff(pipeline: Pipeline, booking: dict) -> None:
    token = issue_test_staff_token(pipeline.booking.runtime.sessions, "front_desk")
    response = pipeline.client.post(f"/api/booking/v1/bookings/{booking['id']}/cancel",
                                    headers={"Authorization": f"Bearer {token}"}, json={"reason": "patient called"})
    assert response.status_code == 200, response.json


def offer_emails(pipeline: Pipeline, email: str) -> list:
    return [m for m in pipeline.mail.to(email) if m["Subject"].startswith("A time has opened up")]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_cancellation_emails_one_offer_to_the_first_in_line_and_its_link_books_the_time(pipeline):
    pipeline.start()
    pipeline.spawn(waitlist_loop(pipeline.booking.waitlist, idle_interval=0.05, sweep_every=3600))
    booking = book_evaluation(pipeline, next_weekday_at(10), "leaving@example.org")
    join_for(pipeline, booking, "first@example.org", "Fay First")
    join_for(pipeline, booking, "second@example.org", "Sam Second")
    wait_for(lambda: [m for m in pipeline.mail.to("second@example.org") if "waitlist" in m["Subject"]], timeout=15)

    cancel_by_staff(pipeline, booking)

    [offer] = wait_for(lambda: offer_emails(pipeline, "first@example.org"), timeout=15)
    assert "medical" not in offer["Subject"].lower() and "evaluation" not in offer["Subject"].lower()
    link = OFFER_LINK.search(text_of(offer)).group(0)
    page = pipeline.client.get(urlsplit(link).path)
    assert page.status_code == 200 and "Book this time" in page.get_data(as_text=True)

    claimed = pipeline.client.post(f"{urlsplit(link).path}/claim", data={})
    assert claimed.status_code == 303 and "/manage/" in claimed.headers["Location"]
    confirmation = wait_for(lambda: [m for m in pipeline.mail.to("first@example.org")
                                     if m["Subject"].startswith("Your appointment on")], timeout=15)
    assert len(confirmation) == 1
    assert offer_emails(pipeline, "second@example.org") == []  # the time went to the first in line only
    assert len(offer_emails(pipeline, "first@example.org")) == 1


def test_a_booking_service_stopped_between_the_hold_and_the_email_loses_no_offer_and_sends_none_twice(pipeline):
    # The consumer and dispatcher run; the booking relay does not yet: the offer's event waits in the outbox.
    pipeline.start(relay=False)
    booking = book_evaluation(pipeline, next_weekday_at(11), "leaving@example.org")
    join_for(pipeline, booking, "waiting@example.org", "Wes Waiting")
    cancel_by_staff(pipeline, booking)
    assert pipeline.booking.waitlist.run_once() >= 1  # hold, offer and event committed together

    # "Restart": a new booking process on the same database works through everything again.
    restarted = bootstrap_booking(pipeline.booking.config)
    try:
        assert restarted.waitlist.run_once() == 0 and restarted.waitlist.sweep() == 0
        pipeline.spawn(lambda stop: restarted.runtime.relay().run(stop, idle_interval=0.02))
        [offer] = wait_for(lambda: offer_emails(pipeline, "waiting@example.org"), timeout=15)
        # Another relay publishing the same outbox (the old process coming back) doubles nothing.
        pipeline.spawn(lambda stop: pipeline.booking.runtime.relay().run(stop, idle_interval=0.02))
        wait_for(lambda: [m for m in pipeline.mail.to("waiting@example.org") if "waitlist" in m["Subject"]], timeout=15)
        time.sleep(1)  # time for a doubled event to be consumed and sent, were there one
        assert len(offer_emails(pipeline, "waiting@example.org")) == 1
        assert OFFER_LINK.search(text_of(offer))
    finally:
        restarted.runtime.engine.dispose()


def test_a_crash_inside_the_offer_leaves_the_freed_time_for_the_next_process(pipeline, monkeypatch):
    pipeline.start()
    booking = book_evaluation(pipeline, next_weekday_at(14), "leaving@example.org")
    join_for(pipeline, booking, "patient@example.org", "Pia Patient")
    cancel_by_staff(pipeline, booking)

    def crash(*_args, **_kwargs):
        raise RuntimeError("the process died here")

    from kapbook_booking.adapters import waitlist_repository
    with monkeypatch.context() as patch:
        patch.setattr(waitlist_repository, "insert_offer", crash)  # after the hold, before the offer and its event
        with pytest.raises(RuntimeError):
            pipeline.booking.waitlist.run_once()
    with pipeline.booking.runtime.sessions() as session:
        assert waitlist_repository.pending_openings(session) == 1  # rolled back with the hold: still to do

    assert pipeline.booking.waitlist.run_once() >= 1
    [offer] = wait_for(lambda: offer_emails(pipeline, "patient@example.org"), timeout=15)
    assert pipeline.booking.waitlist.run_once() == 0
    assert len(offer_emails(pipeline, "patient@example.org")) == 1 and offer is not None


def test_an_offer_that_lapses_is_emailed_to_the_next_in_line(pipeline):
    pipeline.start()
    booking = book_evaluation(pipeline, next_weekday_at(15), "leaving@example.org")
    join_for(pipeline, booking, "slow@example.org", "Sol Slow")
    join_for(pipeline, booking, "ready@example.org", "Rae Ready")
    cancel_by_staff(pipeline, booking)
    pipeline.booking.waitlist.run_once()
    wait_for(lambda: offer_emails(pipeline, "slow@example.org"), timeout=15)

    later = pipeline.booking.clock() + timedelta(minutes=31)
    pipeline.booking.waitlist.clock = lambda: later
    pipeline.booking.waitlist.run_once()

    wait_for(lambda: offer_emails(pipeline, "ready@example.org"), timeout=15)
    assert len(offer_emails(pipeline, "slow@example.org")) == 1
