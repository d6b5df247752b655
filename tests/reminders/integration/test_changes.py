"""Reschedule and cancel: pending messages replaced or cancelled; nothing about a cancelled booking but its notice."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kapbook_platform.contracts import EventType, make_envelope
from reminders_harness import CLINIC, START, body, booking_data, check_email, event_of, invite_of

pytestmark = pytest.mark.integration

MOVED = START + timedelta(days=2)  # Thursday 11 March 2027, 10:30 in New York


def walk_clock(harness, until, step=timedelta(hours=1)) -> list:
    """Dispatch every ``step`` up to ``until``; every email that arrived on the way."""
    arrived = []
    moment = harness.clock()
    while moment < until:
        moment = min(until, moment + step)
        arrived += harness.at(moment)
    return arrived


def test_reschedule_replaces_pending_messages_and_cancel_leaves_only_the_notice(harness):
    harness.book("b-change", START, category="dosing_iv")
    harness.at(harness.clock())
    harness.at(START - timedelta(hours=72))
    assert [m["Subject"] for m in harness.sink.messages()] == [
        f"Your appointment on Tuesday 9 March – {CLINIC}",
        f"Reminder: your appointment on Tuesday 9 March – {CLINIC}",
    ]

    harness.reschedule("b-change", MOVED, sequence=1)
    statuses = harness.statuses("b-change")
    for key in ("0:preparation:48h-before", "0:reminder:24h-before", "0:reminder:2h-before", "0:follow_up:24h-after-end"):
        assert statuses[key] == "cancelled", key
    assert statuses["0:confirmation:at-booking"] == statuses["0:reminder:72h-before"] == "sent"
    assert statuses["1:reschedule_notice:at-change"] == "scheduled"
    assert statuses["1:reminder:72h-before"] == "scheduled"  # 72 h before the new time is still ahead

    (notice,) = harness.at(harness.clock())
    assert notice["Subject"] == f"Updated: your appointment on Thursday 11 March – {CLINIC}"
    text = body(check_email(notice))
    assert "Thursday 11 March 2027" in text and "Tuesday 9 March 2027" in text, "new time, and the old one"
    request = event_of(invite_of(notice))
    assert str(invite_of(notice)["METHOD"]) == "REQUEST"
    assert str(request["UID"]) == "b-change@kapbook" and request["SEQUENCE"] == 1
    assert request["DTSTART"].dt.replace(tzinfo=None).isoformat() == "2027-03-11T10:30:00"

    (moved_reminder,) = harness.at(MOVED - timedelta(hours=72))
    assert moved_reminder["Subject"] == f"Reminder: your appointment on Thursday 11 March – {CLINIC}"

    harness.cancel("b-change", MOVED, sequence=2)
    assert set(harness.statuses("b-change").values()) == {"sent", "cancelled", "scheduled"}
    pending = [row for row in harness.rows("b-change") if row["status"] == "scheduled"]
    assert [row["kind"] for row in pending] == ["cancellation_notice"]

    (cancellation,) = harness.at(harness.clock())
    assert cancellation["Subject"] == f"Your appointment on Thursday 11 March has been cancelled – {CLINIC}"
    calendar = invite_of(check_email(cancellation))
    cancelled = event_of(calendar)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["UID"]) == str(request["UID"])
    assert cancelled["SEQUENCE"] == 2 > request["SEQUENCE"]

    assert walk_clock(harness, MOVED + timedelta(days=7)) == [], "nothing after the cancellation notice"
    assert len(harness.sink.messages()) == 5
    assert not [row for row in harness.rows("b-change") if row["status"] in ("scheduled", "sending")]


def test_cancel_of_a_booking_whose_reminder_a_crashed_dispatcher_had_claimed(harness):
    harness.book("b-crash", START, category="consultation", minutes=30)
    harness.at(harness.clock())
    harness.clock.set(START - timedelta(hours=72))
    claimed = harness.container.dispatcher.claim()  # ...and the dispatcher dies before sending
    assert [row["kind"] for row in claimed] == ["reminder"]

    harness.cancel("b-crash", START, sequence=1, category="consultation", minutes=30)
    harness.clock.advance(timedelta(minutes=5))  # the crashed claim's lease has expired
    arrived = harness.at(harness.clock())

    assert [m["Subject"] for m in arrived] == [f"Your appointment on Tuesday 9 March has been cancelled – {CLINIC}"]
    reminder = next(row for row in harness.rows("b-crash") if row["dedupe_key"].endswith("72h-before"))
    assert reminder["status"] == "cancelled"
    assert reminder["result"] == "not sent: the booking changed after this message was planned"


def test_events_out_of_order_or_twice_change_nothing(harness):
    created = booking_data("b-order", START, category="consultation", minutes=30)
    cancelled = booking_data("b-order", START, category="consultation", minutes=30, sequence=1, status="cancelled")
    creation = make_envelope(EventType.BOOKING_CREATED, "/kapbook/booking", created)

    assert harness.deliver(EventType.BOOKING_CANCELLED, cancelled)
    assert harness.deliver_envelope(creation)  # arrives late: an older version, ignored
    assert not harness.deliver_envelope(creation)  # and again: the inbox has seen it
    assert harness.deliver(EventType.BOOKING_CANCELLED, cancelled)  # the same change republished

    assert [row["kind"] for row in harness.rows("b-order")] == ["cancellation_notice"]
    assert walk_clock(harness, START + timedelta(days=1), step=timedelta(hours=6)) != []
    assert [m["Subject"] for m in harness.sink.messages()] == [
        f"Your appointment on Tuesday 9 March has been cancelled – {CLINIC}"
    ]


def test_a_late_duplicate_creation_at_the_same_sequence_cannot_revive_a_no_show(harness):
    harness.book("b-revive", START, category="consultation", minutes=30)
    harness.deliver(
        EventType.BOOKING_NOSHOW, booking_data("b-revive", START, category="consultation", minutes=30, status="noshow")
    )
    harness.deliver(EventType.BOOKING_CREATED, booking_data("b-revive", START, category="consultation", minutes=30))

    assert set(harness.statuses("b-revive").values()) == {"cancelled"}
    assert walk_clock(harness, START + timedelta(days=2), step=timedelta(hours=6)) == []


def test_a_failed_confirmation_cannot_be_resent_after_the_booking_was_cancelled(harness):
    harness.sink.fail_with("550 5.1.1 mailbox unavailable")
    harness.book("b-failed", START, category="consultation", minutes=30)
    harness.at(harness.clock())
    (failed,) = [row for row in harness.rows("b-failed") if row["status"] == "failed"]
    harness.sink.fail_with(None)
    harness.cancel("b-failed", START, sequence=1, category="consultation", minutes=30)
    staff = harness.staff_client()

    response = staff.post(f"/api/reminders/v1/notifications/{failed['id']}/resend")

    assert response.status_code == 409
    assert "booking changed" in response.json["message"]
    arrived = walk_clock(harness, START, step=timedelta(hours=12))
    assert [m["Subject"] for m in arrived] == [f"Your appointment on Tuesday 9 March has been cancelled – {CLINIC}"]
