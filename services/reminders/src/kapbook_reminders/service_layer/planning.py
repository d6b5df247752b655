"""Use cases run by the event consumer: turn booking and screening events into stored messages.

The domain returns the complete set of messages a booking should have; here we store the
ones not stored before (by dedupe key) and cancel the booking's pending messages that are
no longer in the set. Processing an event twice therefore plans nothing twice.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kapbook_platform.clock import Clock
from kapbook_platform.contracts import Envelope, EventType
from kapbook_reminders.adapters import tables as t
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
)
from kapbook_reminders.domain.plan_config import NotificationPlans


def snapshot_from_event(data: dict[str, Any]) -> BookingSnapshot:
    """The domain's view of a booking, from a validated booking event payload."""
    return BookingSnapshot(
        booking_id=data["booking_id"],
        sequence=data["sequence"],
        status=data["status"],
        appointment_type_code=data["appointment_type"]["code"],
        appointment_type_name=data["appointment_type"]["name"],
        category=data["appointment_type"]["category"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        patient_timezone=data["patient"]["timezone"],
        location_name=data["location"]["name"],
        location_timezone=data["location"]["timezone"],
        location_address=data["location"].get("address"),
        modality=data["appointment_type"]["modality"],
        clinician_name=data["clinician"]["name"],
        patient_name=data["patient"]["name"],
        patient_email=data["patient"]["email"],
        manage_url=data["manage_url"],
        cancellation_notice_hours=data["cancellation_notice_hours"],
    )


@dataclass
class MessagePlanner:
    plans: NotificationPlans
    clock: Clock

    def on_booking_event(self, session: Session, envelope: Envelope) -> None:
        snapshot = snapshot_from_event(envelope.data)
        latest = latest_version(session, snapshot.booking_id, lock=True)
        if latest is not None and latest.supersedes(snapshot.sequence, snapshot.status):
            return  # a later version of this booking was planned already; this one must not undo it
        plan = self.plans.for_booking(snapshot)
        now = self.clock()
        planners = {
            EventType.BOOKING_CREATED: lambda: plan_messages(snapshot, plan, now),
            EventType.BOOKING_RESCHEDULED: lambda: plan_for_reschedule(snapshot, plan, now),
            EventType.BOOKING_CANCELLED: lambda: plan_for_cancellation(snapshot, now),
            EventType.BOOKING_NOSHOW: lambda: plan_after_visit(snapshot, plan, now),
            EventType.BOOKING_COMPLETED: lambda: plan_after_visit(snapshot, plan, now),
        }
        planned = planners[envelope.type]()
        context = with_previous_start(envelope, latest)
        record_version(session, snapshot, now, known=latest is not None)
        store_plan(session, snapshot.booking_id, snapshot.patient_email, planned, context, now)

    def on_crisis(self, oncall_email: str) -> Callable[[Session, Envelope], None]:
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
            insert_new(session, None, oncall_email, [alert], context, now)

        return handle


@dataclass(frozen=True)
class StoredVersion(BookingVersion):
    start: datetime | None = None


def latest_version(session: Session, booking_id: str, *, lock: bool = False) -> StoredVersion | None:
    """The newest version of the booking seen so far; ``lock`` serialises planners of one booking."""
    v = t.booking_versions.c
    query = select(v.sequence, v.status, v.start).where(v.booking_id == booking_id)
    row = session.execute(query.with_for_update() if lock else query).first()
    return None if row is None else StoredVersion(sequence=row.sequence, status=row.status, start=row.start)


def record_version(session: Session, snapshot: BookingSnapshot, now: datetime, *, known: bool) -> None:
    values = {"sequence": snapshot.sequence, "status": snapshot.status.value, "start": snapshot.start, "updated_at": now}
    if known:
        session.execute(update(t.booking_versions).where(t.booking_versions.c.booking_id == snapshot.booking_id).values(values))
    else:
        session.execute(t.booking_versions.insert().values(booking_id=snapshot.booking_id, **values))


def with_previous_start(envelope: Envelope, latest: StoredVersion | None) -> dict[str, Any]:
    """The event data to write emails from; a reschedule learns the old time from the version it replaces."""
    data = dict(envelope.data)
    if envelope.type == EventType.BOOKING_RESCHEDULED and not data.get("previous_start") and latest and latest.start:
        if latest.start != datetime.fromisoformat(data["start"]):
            data["previous_start"] = latest.start.isoformat()
    return data


def store_plan(
    session: Session, booking_id: str, recipient: str, planned: list[PlannedMessage], context: dict, now: datetime
) -> None:
    """Insert planned messages not stored before; cancel this booking's pending ones not in the plan.

    Messages being sent right now are left to the dispatcher, which checks the booking's
    newest version before it sends.
    """
    keys = {message.dedupe_key for message in planned}
    session.execute(
        update(t.messages)
        .where(t.messages.c.booking_id == booking_id, t.messages.c.status == "scheduled", t.messages.c.dedupe_key.not_in(keys))
        .values(status="cancelled", result="replaced by a later change to the booking", updated_at=now)
    )
    insert_new(session, booking_id, recipient, planned, context, now)


def insert_new(
    session: Session, booking_id: str | None, recipient: str, planned: Iterable[PlannedMessage], context: dict, now: datetime
) -> None:
    planned = list(planned)
    if not planned:
        return
    existing = set(
        session.execute(select(t.messages.c.dedupe_key).where(t.messages.c.dedupe_key.in_([m.dedupe_key for m in planned])))
        .scalars()
    )
    rows = [_row(message, booking_id, recipient, context, now) for message in planned if message.dedupe_key not in existing]
    if rows:
        session.execute(t.messages.insert(), rows)


def _row(message: PlannedMessage, booking_id: str | None, recipient: str, context: dict, now: datetime) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "dedupe_key": message.dedupe_key,
        "booking_id": booking_id,
        "kind": str(message.kind),
        "essential": message.essential,
        "recipient": recipient,
        "status": str(message.status),
        "due_at": message.due_at,
        "context": context,
        "sequence": context.get("sequence", 0),
        "attempts": 0,
        "result": message.skip_reason,
        "created_at": now,
        "updated_at": now,
    }
