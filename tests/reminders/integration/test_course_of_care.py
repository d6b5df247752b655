"""The course of care through the real consumer, database and SMTP: sign-in links and treatment series.

Events go in through the service's consumer (inbox and handler in one transaction), first handed
over directly on the ``db`` backends, then over the broker (filesystem folder or RabbitMQ): they are
published from an outbox by the real relay, as the booking service publishes them.
"""
from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_platform.runtime import consumer_loop
from kapbook_reminders.adapters import tables as t
from kapbook_reminders.domain.plan import SERIES_SETTLE
from reminders_harness import CLINIC, HEALTH_TERMS, START, Harness, body, booking_data
from support.waiting import wait_for

pytestmark = pytest.mark.integration

BOOKED_AT = START - timedelta(days=5)
PATIENT = "alex.morgan@example.org"
SERIES_ID = str(uuid.uuid4())
PROTOCOL = {"id": "proto-iv", "name": "IV induction"}
NEW_YORK = ZoneInfo("America/New_York")
LINK = "https://book.clinic.example/my/sign-in/one-time-9c1e4d0b7a"
SERIES_SUBJECT = re.compile(r"^Your appointments from \w+day \d{1,2} \w+( have been cancelled)? – " + re.escape(CLINIC) + "$")


def session_id(position: int) -> str:
    return f"{SERIES_ID[:-2]}{position:02d}"


def session(position: int, size: int = 6, *, sequence: int = 0, status: str = "booked") -> dict:
    """Session ``position``: 10:30 New York every other day from Tuesday 9 March 2027 (clocks change on the 14th)."""
    local = START.astimezone(NEW_YORK).replace(tzinfo=None) + timedelta(days=2 * (position - 1))
    start = local.replace(tzinfo=NEW_YORK).astimezone(UTC)
    place = {"series_id": SERIES_ID, "protocol_name": PROTOCOL["name"], "position": position, "size": size}
    return booking_data(session_id(position), start, sequence=sequence, status=status) | {"series": place}


def series_booked(size: int = 6) -> dict:
    sessions = [session(position, size) for position in range(1, size + 1)]
    return {"series_id": SERIES_ID, "protocol": PROTOCOL, "patient": sessions[0]["patient"], "sessions": sessions,
            "booked_at": BOOKED_AT.isoformat()}


def series_cancelled(cancelled: list[int], kept: list[int]) -> dict:
    return {"series_id": SERIES_ID, "protocol": PROTOCOL, "patient": session(1)["patient"],
            "cancelled_booking_ids": [session_id(p) for p in cancelled],
            "kept_booking_ids": [session_id(p) for p in kept], "cancelled_at": BOOKED_AT.isoformat()}


def service_log(caplog) -> str:
    """Every line our services logged, with its extra fields (the test's SMTP server logs whole emails: not ours)."""
    ours = [record for record in caplog.records if record.name.startswith("kapbook")]
    assert ours, "the consumer and the dispatcher log what they do"
    return "\n".join(f"{record.getMessage()} {record.__dict__!r}" for record in ours)


def sign_in_link(expires_at: datetime) -> dict:
    return {"email": PATIENT, "name": "Alex Morgan", "link_url": LINK, "expires_at": expires_at.isoformat()}


def invites(message) -> list[Calendar]:
    """The attached invites, each one calendar of one event, parsed back."""
    calendars = [Calendar.from_ical(part.get_payload(decode=True)) for part in message.iter_attachments()]
    for calendar in calendars:
        (event,) = calendar.walk("VEVENT")
        (zone,) = calendar.walk("VTIMEZONE")
        assert event["DTSTART"].params["TZID"] == str(zone["TZID"]) == "America/New_York"
        assert not HEALTH_TERMS.search(str(event["SUMMARY"]))
    return calendars


def uids_and_sequences(message) -> list[tuple[str, str, int]]:
    result = []
    for calendar in invites(message):
        (event,) = calendar.walk("VEVENT")
        result.append((str(calendar["METHOD"]), str(event["UID"]), event["SEQUENCE"]))
    return result


def check_series_email(message) -> str:
    """A series email: private subject and sender, both bodies, to the patient; returns the plain body."""
    subject = str(message["Subject"])
    assert SERIES_SUBJECT.match(subject), subject
    assert not HEALTH_TERMS.search(subject) and not HEALTH_TERMS.search(str(message["From"]))
    assert message["To"].addresses[0].addr_spec == PATIENT
    assert message.get_body(("html",)) is not None
    return body(message)


# --- sign-in link ---------------------------------------------------------------------------------


def test_a_sign_in_link_is_emailed_once_at_once_and_never_logged(harness, caplog):
    caplog.set_level(logging.DEBUG)
    envelope = make_envelope(EventType.PATIENT_SIGN_IN_LINK, "/kapbook/booking", sign_in_link(BOOKED_AT + timedelta(minutes=30)))

    assert harness.deliver_envelope(envelope) is True
    assert harness.deliver_envelope(envelope) is False  # a redelivery: the inbox has it
    (email,) = harness.at(harness.clock())
    assert harness.at(harness.clock() + timedelta(minutes=1)) == []

    assert email["Subject"] == "Your sign-in link to your Kapbook appointments"
    assert LINK in body(email) and "for the next 30 minutes" in body(email)
    assert [part.get_content_type() for part in email.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    (row,) = harness.rows()
    assert row["status"] == "sent" and "link_url" not in row["context"]
    assert LINK not in service_log(caplog)


def test_a_sign_in_link_expired_by_the_time_it_arrives_is_not_sent(harness):
    harness.clock.set(BOOKED_AT + timedelta(hours=2))  # the service was down: the link's 30 minutes are over
    harness.deliver(EventType.PATIENT_SIGN_IN_LINK, sign_in_link(BOOKED_AT + timedelta(minutes=30)))

    assert harness.at(harness.clock()) == []
    (row,) = harness.rows()
    assert row["status"] == "skipped" and "link_url" not in row["context"]


# --- series -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("series_first", [True, False], ids=["series-event-first", "session-events-first"])
def test_a_series_gets_one_confirmation_with_an_invite_per_session_then_each_sessions_reminders(harness, series_first):
    events = [(EventType.BOOKING_CREATED, session(position)) for position in range(1, 7)]
    series = (EventType.SERIES_BOOKED, series_booked())
    for event_type, data in [series, *events] if series_first else [*events, series]:
        harness.deliver(event_type, data)
    harness.deliver(*series)  # republished: a new event id, the same series

    (confirmation,) = harness.at(harness.clock())
    text = check_series_email(confirmation)
    assert [f"Session {p} of 6" in text for p in range(1, 7)] == [True] * 6
    assert "Monday 15 March 2027, 10:30 to 12:30 (Eastern Time — America/New_York)" in text
    assert "IV induction" in text and "IV induction" not in str(confirmation["Subject"])
    assert uids_and_sequences(confirmation) == [("REQUEST", f"{session_id(p)}@kapbook", 0) for p in range(1, 7)]
    assert not [row for row in harness.rows() if row["kind"] == "confirmation"]

    (reminder,) = harness.at(START - timedelta(hours=72))
    assert reminder["Subject"] == f"Reminder: your appointment on Tuesday 9 March – {CLINIC}"
    assert "Course: Session 1 of 6 of IV induction" in body(reminder)
    per_session = {row["booking_id"] for row in harness.rows() if row["kind"] == "preparation"}
    assert per_session == {session_id(p) for p in range(1, 7)}


@pytest.mark.parametrize("series_first", [True, False], ids=["series-event-first", "session-events-first"])
def test_cancelling_the_remaining_sessions_sends_one_email_with_their_cancel_invites(harness, series_first):
    harness.deliver(EventType.SERIES_BOOKED, series_booked())
    harness.at(harness.clock())
    harness.clock.advance(hours=1)

    cancellations = [(EventType.BOOKING_CANCELLED, session(p, sequence=1, status="cancelled")) for p in (4, 5, 6)]
    series = (EventType.SERIES_CANCELLED, series_cancelled([4, 5, 6], [1, 2, 3]))
    arrived = []
    for event_type, data in [series, *cancellations] if series_first else [*cancellations, series]:
        harness.deliver(event_type, data)
        arrived += harness.at(harness.clock())  # the dispatcher runs between the events
    arrived += harness.at(harness.clock() + SERIES_SETTLE + timedelta(seconds=1))

    (email,) = arrived
    text = check_series_email(email)
    assert str(email["Subject"]) == f"Your appointments from Monday 15 March have been cancelled – {CLINIC}"
    cancelled, kept = text.split("Still booked:")
    assert all(f"Session {p} of 6" in cancelled for p in (4, 5, 6)) and all(f"Session {p} of 6" in kept for p in (1, 2, 3))
    assert uids_and_sequences(email) == [("CANCEL", f"{session_id(p)}@kapbook", 1) for p in (4, 5, 6)]
    pending = {row["booking_id"] for row in harness.rows() if row["status"] == "scheduled"}
    assert pending == {session_id(p) for p in (1, 2, 3)}  # the kept sessions' reminders only
    notices = [row for row in harness.rows() if row["kind"] == "cancellation_notice"]
    assert all(row["status"] == "cancelled" for row in notices)  # planned (session events first) or not at all
    with harness.container.runtime.sessions() as db:
        covered = set(db.execute(select(t.covered_cancellations.c.booking_id)).scalars())
    assert covered == {session_id(p) for p in (4, 5, 6)}


# --- over the broker ----------------------------------------------------------------------------------


@pytest.fixture
def broker_harness(tmp_path, db, broker, database_factory, broker_url, broker_namespace, sink):
    """The reminders service with its consumer running on the test's broker."""
    harness = Harness.build(tmp_path, database_factory("reminders"), BOOKED_AT, sink,
                            broker_url=broker_url, broker_namespace=broker_namespace)
    stop = threading.Event()
    thread = threading.Thread(target=consumer_loop(harness.container.runtime, harness.container.handlers), args=(stop,),
                              daemon=True)
    thread.start()
    yield harness
    stop.set()
    thread.join(timeout=10)
    harness.close()


def publish(harness: Harness, events: list[tuple[str, dict]]) -> None:
    """Publish through an outbox and the real relay, in order, as the booking service does."""
    runtime = harness.container.runtime
    with runtime.sessions.begin() as session:
        for event_type, data in events:
            runtime.outbox.add(session, event_type, data)
    relay = runtime.relay()
    try:
        assert relay.publish_pending() == len(events)
    finally:
        relay.connection.release()


def handled(harness: Harness, count: int):
    def enough():
        with harness.container.runtime.sessions() as session:
            return len(session.execute(select(harness.container.runtime.tables["inbox"].c.event_id)).all()) >= count

    return wait_for(enough, timeout=20)


def test_over_the_broker_a_series_and_a_sign_in_link_each_send_one_email(broker_harness, caplog):
    caplog.set_level(logging.DEBUG)
    events = [(EventType.BOOKING_CREATED, session(p, size=3)) for p in (1, 2, 3)]
    events += [(EventType.SERIES_BOOKED, series_booked(size=3)),
               (EventType.PATIENT_SIGN_IN_LINK, sign_in_link(BOOKED_AT + timedelta(minutes=30)))]
    publish(broker_harness, events)
    handled(broker_harness, len(events))

    arrived = broker_harness.at(broker_harness.clock())
    assert sorted(str(m["Subject"]) for m in arrived) == [
        f"Your appointments from Tuesday 9 March – {CLINIC}", "Your sign-in link to your Kapbook appointments"]
    (confirmation,) = [m for m in arrived if m["Subject"].startswith("Your appointments")]
    assert uids_and_sequences(confirmation) == [("REQUEST", f"{session_id(p)}@kapbook", 0) for p in (1, 2, 3)]
    assert LINK not in service_log(caplog)
