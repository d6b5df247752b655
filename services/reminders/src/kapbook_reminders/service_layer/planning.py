"""Use cases run by the event consumer: turn booking and screening events into stored messages.

The domain returns the complete set of messages a booking should have; here we store the
ones not stored before (by dedupe key) and cancel the booking's pending messages that are
no longer in the set. Processing an event twice therefore plans nothing twice.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kapbook_platform.clock import Clock
from kapbook_platform.contracts import Envelope, EventType
from kapbook_reminders.adapters.repository import MessageStore, RemindersRepository
from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.plan import (
    CRISIS_ALERT_WINDOW,
    BookingVersion,
    MessageKind,
    PlannedMessage,
    crisis_alert_dedupe_key,
    crisis_alert_due,
    crisis_screenings,
    plan_after_visit,
    plan_for_cancellation,
    plan_for_reschedule,
    plan_messages,
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

    def on_crisis(self, oncall_email: str, window: timedelta = CRISIS_ALERT_WINDOW) -> Callable[[Session, Envelope], None]:
        """A handler that alerts ``oncall_email`` about a crisis screening: at once after a quiet period.

        Screenings arriving while an alert is still unsent join it; those arriving within ``window``
        of the last alert are gathered into one follow-up at the end of the window (see
        ``crisis_alert_due``). Every screening is listed in some alert; the pending one is a row in
        the database, so a restart loses nothing.
        """

        def handle(session: Session, envelope: Envelope) -> None:
            now = self.clock()
            repository = self.store.within(session)
            screening = {"screening_id": envelope.data["screening_id"], "review_url": envelope.data["review_url"]}
            pending = repository.open_crisis_alert(oncall_email)
            if pending is not None:
                listed = crisis_screenings(pending["context"])
                if screening["screening_id"] in {entry["screening_id"] for entry in listed}:
                    return
                if repository.extend_crisis_alert(pending["id"], {"screenings": [*listed, screening]}, now):
                    return
            alert = PlannedMessage(
                kind=MessageKind.CRISIS_ALERT,
                dedupe_key=crisis_alert_dedupe_key(screening["screening_id"]),
                due_at=crisis_alert_due(now, repository.last_crisis_alert_due(oncall_email), window),
                status="scheduled",
                essential=True,
            )
            repository.add_new(None, oncall_email, [alert], {"screenings": [screening]}, now)

        return handle


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
