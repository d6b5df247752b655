"""The reminders use cases on fakes: planning, cancelling, dispatching, retrying and resending, without a database."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.adapters.smtp import DeliveryFailed
from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.plan import BOOKING_CHANGED, OVERTAKEN, BookingVersion, MessageKind, plan_messages
from kapbook_reminders.domain.sending import UNSUBSCRIBED
from kapbook_reminders.service_layer import notifications
from kapbook_reminders.service_layer.dispatch import Dispatcher
from kapbook_reminders.service_layer.planning import REPLACED

sys.path.insert(0, str(Path(__file__).parent))

from reminders_fakes import (  # noqa: E402 - importable thanks to the line above
    BOOKED_AT,
    BOOKING_ID,
    PATIENT,
    PLANS,
    START,
    Reminders,
)

READER = notifications.Reader("staff-7", "192.0.2.7")

@pytest.fixture
def reminders(branding) -> Reminders:
    return Reminders.build(branding)


# --- planning --------------------------------------------------------------------------------


def test_a_new_booking_stores_the_domain_plan_with_a_confirmation_due_at_once(reminders):
    data = reminders.deliver(EventType.BOOKING_CREATED)

    snapshot = BookingSnapshot.from_event(data)
    expected = {m.dedupe_key for m in plan_messages(snapshot, PLANS.for_booking(snapshot), BOOKED_AT)}
    assert {row["dedupe_key"] for row in reminders.store.messages.values()} == expected
    confirmation = reminders.one(MessageKind.CONFIRMATION)
    assert (confirmation["status"], confirmation["due_at"], confirmation["recipient"]) == ("scheduled", BOOKED_AT, PATIENT)
    assert [row["due_at"] for row in reminders.store.by_kind(MessageKind.REMINDER)] == [
        START - timedelta(hours=hours) for hours in (72, 24, 2)
    ]
    assert reminders.store.versions[BOOKING_ID] == BookingVersion(0, "booked", START)


def test_the_same_event_twice_plans_nothing_twice(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    first = dict(reminders.store.messages)
    reminders.clock.advance(minutes=5)
    reminders.deliver(EventType.BOOKING_CREATED)

    assert reminders.store.messages.keys() == first.keys()
    assert all(row["status"] == "scheduled" for row in reminders.store.messages.values())


def test_a_cancellation_cancels_the_pending_messages_and_plans_a_notice(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.clock.advance(hours=1)
    reminders.deliver(EventType.BOOKING_CANCELLED, sequence=1, status="cancelled")

    notice = reminders.one(MessageKind.CANCELLATION_NOTICE)
    assert (notice["status"], notice["due_at"], notice["sequence"]) == ("scheduled", reminders.clock.now, 1)
    pending = [row for row in reminders.store.messages.values() if row is not notice]
    assert len(pending) == 7  # confirmation, preparation, three reminders, follow-up, check-in
    assert {(row["status"], row["result"]) for row in pending} == {("cancelled", REPLACED)}


def test_an_event_older_than_the_newest_version_changes_nothing(reminders):
    reminders.deliver(EventType.BOOKING_CANCELLED, sequence=1, status="cancelled")
    reminders.deliver(EventType.BOOKING_CREATED)  # the creation arrives late

    assert [row["kind"] for row in reminders.store.messages.values()] == [MessageKind.CANCELLATION_NOTICE]
    assert reminders.store.versions[BOOKING_ID].sequence == 1


def test_a_reschedule_notice_learns_the_old_time_from_the_version_it_replaces(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.deliver(EventType.BOOKING_RESCHEDULED, sequence=1, start=START + timedelta(days=1))

    notice = reminders.one(MessageKind.RESCHEDULE_NOTICE)
    assert notice["context"]["previous_start"] == START.isoformat()
    assert reminders.store.versions[BOOKING_ID].start == START + timedelta(days=1)


def test_a_crisis_screening_alerts_the_oncall_address_at_once(reminders):
    data = {"screening_id": "scr-1", "review_url": "https://staff.harbor.example/review/scr-1",
            "decided_at": BOOKED_AT.isoformat()}
    handle = reminders.planner.on_crisis("oncall@harbor.example")
    handle(None, make_envelope(EventType.SCREENING_CRISIS, "/kapbook/eligibility", data))

    assert reminders.dispatcher.dispatch_all_due() == 1
    assert reminders.sender.recipients() == ["oncall@harbor.example"]
    assert reminders.one(MessageKind.CRISIS_ALERT)["booking_id"] is None


# --- dispatching ------------------------------------------------------------------------------


def test_dispatch_sends_what_is_due_outside_any_transaction_and_records_it(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)

    assert reminders.dispatcher.dispatch_all_due() == 1
    (email,) = reminders.sender.sent
    confirmation = reminders.one(MessageKind.CONFIRMATION)
    assert (confirmation["status"], confirmation["sent_at"]) == ("sent", BOOKED_AT)
    assert confirmation["smtp_message_id"] == email["Message-ID"]
    assert (confirmation["claim_token"], confirmation["lease_until"]) == (None, None)
    assert reminders.sender.recipients() == [PATIENT]
    assert reminders.sender.sends_in_transaction == 0
    assert reminders.dispatcher.dispatch_all_due() == 0  # the reminders are not due yet


def test_a_backlog_of_reminders_sends_only_the_latest(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.clock.now = START - timedelta(hours=1)  # the dispatcher was down for days

    reminders.dispatcher.dispatch_all_due()

    reminders_by_due = reminders.store.by_kind(MessageKind.REMINDER)
    assert [row["status"] for row in reminders_by_due] == ["skipped", "skipped", "sent"]
    assert {row["result"] for row in reminders_by_due[:2]} == {f"not sent: {OVERTAKEN}"}


def test_a_booking_cancelled_after_the_claim_gets_no_confirmation(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    claimed = reminders.dispatcher.claim()
    reminders.deliver(EventType.BOOKING_CANCELLED, sequence=1, status="cancelled")

    reminders.dispatcher.send(claimed)

    assert reminders.sender.sent == []
    confirmation = reminders.one(MessageKind.CONFIRMATION)
    assert (confirmation["status"], confirmation["result"]) == ("cancelled", f"not sent: {BOOKING_CHANGED}")


def test_a_claim_taken_over_after_its_lease_sends_nothing_twice(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    stale = reminders.dispatcher.claim()
    reminders.clock.advance(seconds=reminders.dispatcher.lease.total_seconds() + 1)
    other = Dispatcher(reminders.store, reminders.sender, reminders.dispatcher.compose, reminders.clock)

    assert other.dispatch_due() == 1
    reminders.dispatcher.send(stale)

    assert reminders.sender.recipients() == [PATIENT]
    assert reminders.one(MessageKind.CONFIRMATION)["status"] == "sent"


def test_the_lease_is_renewed_before_a_send_once_half_of_it_has_gone_and_not_before(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.deliver(EventType.BOOKING_CREATED, booking_id="0f2b9a3c-7d1e-4c55-8a6b-2e9f4d7c1b22",
                      patient={"name": "Sam Lee", "email": "sam@example.org", "timezone": "America/New_York"})
    renewed, renew = [], reminders.store.renew_lease
    reminders.store.renew_lease = lambda message, until: renewed.append((message["id"], until)) or renew(message, until)
    lease = reminders.dispatcher.lease
    first, second = reminders.dispatcher.claim()

    reminders.clock.advance(seconds=lease.total_seconds() / 2 - 1)
    reminders.dispatcher.send([first])  # more than half the lease left: nobody else can have it, no write
    reminders.clock.advance(seconds=2)
    reminders.dispatcher.send([second])  # less than half left: renewed (while the claim is still ours) first

    assert renewed == [(second["id"], reminders.clock() + lease)]
    assert len(reminders.sender.sent) == 2
    assert {row["status"] for row in reminders.store.by_kind(MessageKind.CONFIRMATION)} == {"sent"}


def test_a_temporary_failure_is_retried_after_the_backoff(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.sender.failures.append(DeliveryFailed("451 try again later", temporary=True))

    reminders.dispatcher.dispatch_all_due()
    confirmation = reminders.one(MessageKind.CONFIRMATION)
    assert (confirmation["status"], confirmation["attempts"]) == ("scheduled", 1)
    assert confirmation["next_attempt_at"] == BOOKED_AT + timedelta(seconds=30)
    assert reminders.dispatcher.dispatch_all_due() == 0  # not before the backoff

    reminders.clock.advance(seconds=30)
    assert reminders.dispatcher.dispatch_all_due() == 1
    assert reminders.one(MessageKind.CONFIRMATION)["status"] == "sent"
    assert (reminders.sender.attempts, len(reminders.sender.sent)) == (2, 1)


def test_temporary_failures_give_up_after_max_attempts(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.sender.failures.extend(DeliveryFailed("451 busy", temporary=True) for _ in range(5))

    for _ in range(5):
        reminders.dispatcher.dispatch_all_due()
        reminders.clock.advance(minutes=30)

    confirmation = reminders.one(MessageKind.CONFIRMATION)
    assert (confirmation["status"], confirmation["attempts"]) == ("failed", 3)
    assert confirmation["result"].startswith("temporary failures, giving up (attempt 3)")
    assert reminders.sender.attempts == 3


def test_a_permanent_failure_is_not_retried(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.sender.failures.append(DeliveryFailed("550 no such user", temporary=False))

    reminders.dispatcher.dispatch_all_due()
    reminders.clock.advance(hours=1)
    reminders.dispatcher.dispatch_all_due()

    confirmation = reminders.one(MessageKind.CONFIRMATION)
    assert (confirmation["status"], confirmation["attempts"]) == ("failed", 1)
    assert reminders.sender.attempts == 1


def test_an_unsubscribed_patient_gets_no_follow_up_but_still_the_essential_emails(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    notifications.unsubscribe(reminders.store, "Alex@Example.org", BOOKED_AT)
    reminders.dispatcher.dispatch_all_due()
    assert reminders.one(MessageKind.CONFIRMATION)["status"] == "sent"

    reminders.clock.now = START + timedelta(hours=3)  # the visit took place
    reminders.deliver(EventType.BOOKING_COMPLETED, sequence=1, status="fulfilled")
    reminders.clock.now = START + timedelta(hours=26)  # 24 h after its end
    reminders.dispatcher.dispatch_all_due()

    follow_up = reminders.one(MessageKind.FOLLOW_UP, sequence=1)
    assert (follow_up["status"], follow_up["result"]) == ("skipped", f"not sent: {UNSUBSCRIBED}")
    assert reminders.sender.recipients() == [PATIENT]  # the confirmation only
    assert notifications.is_unsubscribed(reminders.store, PATIENT)


# --- staff: resending ------------------------------------------------------------------------


def failed_confirmation(reminders: Reminders) -> dict[str, Any]:
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.sender.failures.append(DeliveryFailed("550 mailbox full", temporary=False))
    reminders.dispatcher.dispatch_all_due()
    return reminders.one(MessageKind.CONFIRMATION, status="failed")


def test_staff_resend_queues_a_failed_message_again_and_audits_it(reminders):
    failed = failed_confirmation(reminders)

    listed = notifications.resend_notification(reminders.store, failed["id"], "staff-7", reminders.clock())

    assert (listed["status"], listed["attempts"], listed["result"]) == ("scheduled", 0, "resend requested by staff")
    assert "context" not in listed  # staff never see what the email says
    assert reminders.store.audit == [("staff-7", "notification.resend", f"message:{failed['id']}")]
    assert reminders.dispatcher.dispatch_all_due() == 1
    assert reminders.one(MessageKind.CONFIRMATION)["status"] == "sent"


def test_staff_cannot_resend_what_is_no_longer_relevant(reminders):
    failed = failed_confirmation(reminders)
    reminders.deliver(EventType.BOOKING_CANCELLED, sequence=1, status="cancelled")

    with pytest.raises(notifications.CannotResend, match="no longer be sent"):
        notifications.resend_notification(reminders.store, failed["id"], "staff-7", reminders.clock())
    assert reminders.store.messages[failed["id"]]["status"] == "failed"
    assert reminders.store.audit == []


def test_staff_cannot_resend_a_sent_or_unknown_message(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.dispatcher.dispatch_all_due()
    sent = reminders.one(MessageKind.CONFIRMATION)

    with pytest.raises(notifications.CannotResend, match="this one is sent"):
        notifications.resend_notification(reminders.store, sent["id"], "staff-7", reminders.clock())
    with pytest.raises(notifications.NotificationNotFound):
        notifications.resend_notification(reminders.store, "no-such-id", "staff-7", reminders.clock())


def test_staff_list_filters_by_status_and_recipient(reminders):
    reminders.deliver(EventType.BOOKING_CREATED)
    reminders.dispatcher.dispatch_all_due()

    sent = notifications.list_notifications(reminders.store, notifications.NotificationFilter(status="sent"), READER)
    mine = notifications.list_notifications(reminders.store, notifications.NotificationFilter(recipient="ALEX@example.org"), READER)
    assert [row["kind"] for row in sent] == [MessageKind.CONFIRMATION]
    assert len(mine) == len(reminders.store.messages)
    assert [row["due_at"] for row in mine] == sorted(row["due_at"] for row in mine)
    # Each read is audited, naming the log read and never the recipient filter's address.
    assert reminders.store.audit[-2:] == [("staff-7", "notification_log.viewed", "notification_log:all")] * 2
