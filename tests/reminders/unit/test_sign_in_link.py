"""The patient's one-time sign-in link: one short email at once, never twice, never logged, never stale."""
from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.domain.plan import LINK_EXPIRED, MessageKind
from kapbook_reminders.domain.sending import UNSUBSCRIBED
from kapbook_reminders.service_layer import notifications

sys.path.insert(0, str(Path(__file__).parent))

from reminders_fakes import BOOKED_AT, PATIENT, Reminders  # noqa: E402 - importable thanks to the line above

LINK = "https://book.harbor.example/my/sign-in/7f3a9c-one-time-secret"


def sign_in_event(expires_in: timedelta = timedelta(minutes=30), name: str | None = "Alex Morgan"):
    data = {"email": PATIENT, "name": name, "link_url": LINK, "expires_at": (BOOKED_AT + expires_in).isoformat()}
    return make_envelope(EventType.PATIENT_SIGN_IN_LINK, "/kapbook/booking", data)


@pytest.fixture
def reminders(branding) -> Reminders:
    return Reminders.build(branding)


def body(email, subtype: str = "plain") -> str:
    return email.get_body((subtype,)).get_content()


def test_the_link_is_emailed_at_once_in_a_short_plain_email_without_an_invite(reminders):
    reminders.planner.on_sign_in_link(None, sign_in_event())

    assert reminders.dispatcher.dispatch_all_due() == 1
    (email,) = reminders.sender.sent
    assert email["Subject"] == "Your sign-in link to your Kapbook appointments"
    assert reminders.sender.recipients() == [PATIENT]
    text, html = body(email), body(email, "html")
    assert LINK in text and f'href="{LINK}"' in html
    assert "works once, for the next 30 minutes" in text
    assert "If you did not ask for this link, you can ignore this email" in text
    assert [part.get_content_type() for part in email.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    assert reminders.one(MessageKind.SIGN_IN_LINK)["booking_id"] is None


def test_the_same_event_twice_sends_one_email(reminders):
    event = sign_in_event()
    reminders.planner.on_sign_in_link(None, event)
    reminders.dispatcher.dispatch_all_due()
    reminders.planner.on_sign_in_link(None, event)  # redelivered after the inbox lost track (or a replay)

    assert reminders.dispatcher.dispatch_all_due() == 0
    assert len(reminders.sender.sent) == 1
    assert len(reminders.store.by_kind(MessageKind.SIGN_IN_LINK)) == 1


def test_a_link_already_expired_when_the_event_arrives_is_recorded_and_never_sent(reminders):
    reminders.planner.on_sign_in_link(None, sign_in_event(expires_in=timedelta(seconds=-1)))

    assert reminders.dispatcher.dispatch_all_due() == 0
    row = reminders.one(MessageKind.SIGN_IN_LINK)
    assert (row["status"], row["result"]) == ("skipped", LINK_EXPIRED)
    assert "link_url" not in row["context"]  # a link never sent is not kept either
    assert reminders.sender.sent == []


def test_a_link_that_expires_while_the_mail_server_is_down_is_not_sent_afterwards(reminders):
    from kapbook_reminders.adapters.smtp import DeliveryFailed

    reminders.planner.on_sign_in_link(None, sign_in_event())
    reminders.sender.failures.append(DeliveryFailed("421 service not available", temporary=True))
    reminders.dispatcher.dispatch_all_due()
    reminders.clock.advance(minutes=31)  # the retry comes after the link has expired

    assert reminders.dispatcher.dispatch_all_due() == 1
    row = reminders.one(MessageKind.SIGN_IN_LINK)
    assert (row["status"], row["result"]) == ("skipped", f"not sent: {LINK_EXPIRED}")
    assert reminders.sender.sent == []


def test_a_link_sent_late_says_how_many_minutes_it_still_works(reminders):
    reminders.planner.on_sign_in_link(None, sign_in_event())
    reminders.clock.advance(minutes=20, seconds=30)

    reminders.dispatcher.dispatch_all_due()
    assert "works once, for the next 10 minutes" in body(reminders.sender.sent[0])


def test_an_unsubscribe_does_not_stop_a_link_the_patient_asked_for(reminders):
    notifications.unsubscribe(reminders.store, PATIENT, BOOKED_AT)
    reminders.planner.on_sign_in_link(None, sign_in_event(name=None))

    reminders.dispatcher.dispatch_all_due()
    assert reminders.one(MessageKind.SIGN_IN_LINK)["result"] != f"not sent: {UNSUBSCRIBED}"
    assert body(reminders.sender.sent[0]).startswith("Hello,\n")


def test_the_link_is_forgotten_once_sent_and_never_appears_in_a_log_line(reminders, caplog):
    caplog.set_level(logging.DEBUG)
    reminders.planner.on_sign_in_link(None, sign_in_event())

    reminders.dispatcher.dispatch_all_due()

    row = reminders.one(MessageKind.SIGN_IN_LINK)
    assert row["status"] == "sent" and "link_url" not in row["context"]
    assert caplog.records, "the dispatcher logs each send"
    for record in caplog.records:
        assert LINK not in record.getMessage() and LINK not in repr(record.__dict__)
    assert LINK not in caplog.text
    with pytest.raises(notifications.CannotResend):  # it was sent; and a resend could not write it again
        notifications.resend_notification(reminders.store, row["id"], "staff-1", reminders.clock())


def test_a_link_that_cannot_be_composed_is_not_logged_either(reminders, caplog):
    caplog.set_level(logging.DEBUG)
    event = sign_in_event()
    event.data["link_url"] = "javascript:alert('ketamine')" + LINK  # not a web URL: refused at composing
    reminders.planner.on_sign_in_link(None, event)

    reminders.dispatcher.dispatch_all_due()

    row = reminders.one(MessageKind.SIGN_IN_LINK)
    assert row["status"] == "failed" and "link_url" not in row["context"]
    assert LINK not in caplog.text and LINK not in row["result"]
