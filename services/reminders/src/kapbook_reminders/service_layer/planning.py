"""Use cases run by the event consumer: turn booking and screening events into stored messages.

The domain returns the complete set of messages a booking should have; here we store the
ones not stored before (by dedupe key) and cancel the booking's pending messages that are
no longer in the set. Processing an event twice therefore plans nothing twice.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kapbook_platform.clock import Clock
from kapbook_platform.contracts import Envelope, EventType
from kapbook_reminders.adapters.repository import MessageStore, RemindersRepository
from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.plan import (
    BookingVersion,
    MessageKind,
    PlannedMessage,
    crisis_alert_dedupe_key,
    plan_after_visit,
    plan_for_cancellation,
    plan_for_reschedule,
    plan_messages,
    plan_sign_in_link,
)
from kapbook_reminders.domain.plan_config import NotificationPlans

REPLACED = "replaced by a later change to the booking"


@dataclass
class MessagePlanner:
    plans: NotificationPlans
    clock: Clock
    store: MessageStore

    def on_booking_event(self, session: Session, envelope: Envelope) -> None:
        """Plan (or re-plan) a booking's messages in the consumer's transaction."""
        repository = self.store.within(session)
        snapshot = BookingSnapshot.from_event(envelope.data)
        latest = repository.latest_version(snapshot.booking_id, lock=True)
        if latest is not None and latest.supersedes(snapshot.sequence, snapshot.status):
            return  # a later version of this booking was planned already; this one must not undo it
        now = self.clock()
        planned = self.plan(envelope.type, snapshot, now)
        context = with_previous_start(envelope, latest)
        repository.record_version(snapshot, now, known=latest is not None)
        store_plan(repository, snapshot.booking_id, snapshot.patient_email, planned, context, now)

    def plan(self, event_type: EventType, snapshot: BookingSnapshot, now: datetime) -> list[PlannedMessage]:
        """The complete set of messages the booking should have after this event."""
        plan = self.plans.for_booking(snapshot)
        if event_type == EventType.BOOKING_CREATED:
            return plan_messages(snapshot, plan, now)
        if event_type == EventType.BOOKING_RESCHEDULED:
            return plan_for_reschedule(snapshot, plan, now)
        if event_type == EventType.BOOKING_CANCELLED:
            return plan_for_cancellation(snapshot, now)
        if event_type in (EventType.BOOKING_NOSHOW, EventType.BOOKING_COMPLETED):
            return plan_after_visit(snapshot, plan, now)
        raise KeyError(event_type)

    def on_crisis(self, oncall_email: str) -> Callable[[Session, Envelope], None]:
        """A handler that alerts ``oncall_email`` at once about a crisis screening."""

        def handle(session: Session, envelope: Envelope) -> None:
            now = self.clock()
            alert = PlannedMessage(
                kind=MessageKind.CRISIS_ALERT,
                dedupe_key=crisis_alert_dedupe_key(envelope.data["screening_id"]),
                due_at=now,
                status="scheduled",
                essential=True,
            )
            context = {"screening_id": envelope.data["screening_id"], "review_url": envelope.data["review_url"]}
            self.store.within(session).add_new(None, oncall_email, [alert], context, now)

        return handle


    def on_sign_in_link(self, session: Session, envelope: Envelope) -> None:
        """Email the patient's one-time sign-in link at once (once per event; never once it has expired)."""
        data = envelope.data
        link = plan_sign_in_link(envelope.id, datetime.fromisoformat(data["expires_at"]), self.clock())
        context = {"event_id": envelope.id, "name": data.get("name"), "link_url": data["link_url"],
                   "expires_at": data["expires_at"]}
        if link.skip_reason is not None:
            context.pop("link_url")  # never sent, so not kept either
        self.store.within(session).add_new(None, data["email"], [link], context, self.clock())


def with_previous_start(envelope: Envelope, latest: BookingVersion | None) -> dict[str, Any]:
    """The event data to write emails from; a reschedule learns the old time from the version it replaces."""
    data = dict(envelope.data)
    if envelope.type == EventType.BOOKING_RESCHEDULED and not data.get("previous_start") and latest and latest.start:
        if latest.start != datetime.fromisoformat(data["start"]):
            data["previous_start"] = latest.start.isoformat()
    return data


def store_plan(
    repository: RemindersRepository, booking_id: str, recipient: str, planned: list[PlannedMessage], context: dict,
    now: datetime,
) -> None:
    """Insert planned messages not stored before; cancel this booking's pending ones not in the plan.

    Messages being sent right now are left to the dispatcher, which checks the booking's
    newest version before it sends.
    """
    repository.cancel_scheduled(booking_id, keep={message.dedupe_key for message in planned}, result=REPLACED, now=now)
    repository.add_new(booking_id, recipient, planned, context, now)
