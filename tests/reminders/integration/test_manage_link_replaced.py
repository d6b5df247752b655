"""Staff replaced a booking's manage link (kapbook.booking.manage_link_replaced.v1): the patient is
emailed the new link at once, once, and every email not sent yet carries it instead of the dead one."""
from __future__ import annotations

from datetime import timedelta

from kapbook_platform.contracts import EventType
from reminders_harness import CLINIC, PUBLIC_URL, START, body, booking_data, check_email

NEW_LINK = f"{PUBLIC_URL}/manage/new-secret-after-rotation-9c1d"


def replaced(booking_id: str, **options) -> dict:
    return booking_data(booking_id, **options) | {"manage_url": NEW_LINK}


def test_the_new_link_is_emailed_at_once_and_only_once(harness):
    old = harness.book("b-1")["manage_url"]
    harness.at(harness.clock())  # the confirmation (with the old link) has gone
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, replaced("b-1"))
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, replaced("b-1"))  # published twice
    (email,) = harness.at(harness.clock())
    check_email(email)
    assert email["Subject"].startswith("A new link for your appointment on ") and email["Subject"].endswith(CLINIC)
    assert NEW_LINK in body(email) and NEW_LINK in body(email, "html") and old not in body(email)
    assert "earlier emails no longer work" in body(email)
    assert not [part for part in email.walk() if part.get_content_type() == "text/calendar"], "nothing changed to invite"


def test_emails_not_sent_yet_carry_the_new_link(harness):
    old = harness.book("b-1")["manage_url"]
    harness.at(harness.clock())
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, replaced("b-1"))
    harness.at(harness.clock())
    later = harness.at(START - timedelta(minutes=1))  # reminders and the preparation message
    assert later, "the booking's timed messages were sent"
    for email in later:
        assert NEW_LINK in body(email) and old not in body(email), email["Subject"]


def test_a_link_replaced_twice_before_sending_emails_only_the_newest(harness):
    harness.book("b-1")
    harness.at(harness.clock())
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, booking_data("b-1") | {"manage_url": f"{PUBLIC_URL}/manage/first"})
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, replaced("b-1"))
    (email,) = harness.at(harness.clock())
    assert NEW_LINK in body(email) and f"{PUBLIC_URL}/manage/first" not in body(email)


def test_a_replacement_older_than_the_booking_changes_nothing(harness):
    harness.book("b-1")
    harness.reschedule("b-1", START + timedelta(days=1), sequence=1, previous_start=START)
    harness.at(harness.clock())
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, replaced("b-1"))  # sequence 0: the booking moved since
    assert harness.at(harness.clock()) == []
    assert not [row for row in harness.rows("b-1") if NEW_LINK in str(row["context"])]


def test_no_new_link_email_once_the_visit_has_started(harness):
    harness.book("b-1")
    harness.at(START + timedelta(minutes=5))
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, replaced("b-1"))
    assert harness.at(harness.clock()) == []
