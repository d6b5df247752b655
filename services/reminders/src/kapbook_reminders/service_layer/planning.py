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
    password_reset_dedupe_key,
    plan_after_visit,
    plan_for_cancellation,
    plan_for_reschedule,
    plan_manage_link_replaced,
    plan_messages,
    plan_sign_in_link,
    plan_waitlist_message,
    plan_webhook_disabled,
)
from kapbook_reminders.domain.plan_config import NotificationPlans
from kapbook_reminders.domain.series import (
    COVERED_BY_SERIES,
    plan_series_cancellation,
    plan_series_confirmation,
    with_series_place,
)

REPLACED = "replaced by a later change to the booking"


@dataclass
class MessagePlanner:
    plans: NotificationPlans
    clock: Clock
    store: MessageStore

    def on_booking_event(self, session: Session, envelope: Envelope) -> None:
        """Plan (or re-plan) a booking's messages in the consumer's transaction."""
        self.apply_booking_event(self.store.within(session), envelope.type, envelope.data)

    def apply_booking_event(self, repository: RemindersRepository, event_type: str, data: dict[str, Any]) -> None:
        """Plan a booking's messages from one snapshot, unless a later version was planned already."""
        snapshot = BookingSnapshot.from_event(data)
        keep_series_snapshot(repository, snapshot, data, self.clock())
        latest = repository.latest_version(snapshot.booking_id, lock=True)
        if latest is not None and latest.supersedes(snapshot.sequence, snapshot.status):
            return  # a later version of this booking was planned already; this one must not undo it
        now = self.clock()
        covered = (event_type == EventType.BOOKING_CANCELLED and snapshot.series is not None
                   and repository.is_cancellation_covered(snapshot.booking_id))
        planned = self.plan(event_type, snapshot, now, covered=covered)
        context = with_previous_start(event_type, data, latest)
        repository.record_version(snapshot, now, known=latest is not None)
        store_plan(repository, snapshot.booking_id, snapshot.patient_email, planned, context, now)

    def plan(
        self, event_type: EventType | str, snapshot: BookingSnapshot, now: datetime, *, covered: bool = False
    ) -> list[PlannedMessage]:
        """The complete set of messages the booking should have after this event.

        ``covered``: a series email already carries this cancelled session's CANCEL invite.
        """
        plan = self.plans.for_booking(snapshot)
        if event_type == EventType.BOOKING_CREATED:
            return plan_messages(snapshot, plan, now)
        if event_type == EventType.BOOKING_RESCHEDULED:
            return plan_for_reschedule(snapshot, plan, now)
        if event_type == EventType.BOOKING_CANCELLED:
            return plan_for_cancellation(snapshot, now, covered=covered)
        if event_type in (EventType.BOOKING_NOSHOW, EventType.BOOKING_COMPLETED):
            return plan_after_visit(snapshot, plan, now)
        raise KeyError(event_type)

    def on_manage_link_replaced(self, session: Session, envelope: Envelope) -> None:
        """Staff replaced the booking's manage link: email the new one, and put it in every email not sent yet.

        An older event (the booking changed since) changes nothing: the later event carries a live link.
        """
        repository = self.store.within(session)
        snapshot = BookingSnapshot.from_event(envelope.data)
        latest = repository.latest_version(snapshot.booking_id, lock=True)
        if latest is not None and latest.supersedes(snapshot.sequence, snapshot.status):
            return
        now = self.clock()
        repository.replace_manage_url(snapshot.booking_id, snapshot.manage_url, now)
        message = plan_manage_link_replaced(snapshot, now)
        # A link replaced twice before the first email left: only the newest link is worth sending.
        repository.cancel_pending_of_kind([snapshot.booking_id], MessageKind.MANAGE_LINK_REPLACED, result=REPLACED,
                                          now=now, keep={message.dedupe_key})
        repository.add_new(snapshot.booking_id, snapshot.patient_email, [message], dict(envelope.data), now)

    def on_series_booked(self, session: Session, envelope: Envelope) -> None:
        """One confirmation for the whole series; each session's timed messages as its own booking.created plans them.

        Whichever comes first, the series event or a session's booking.created, the other plans
        nothing twice: the session's messages share their dedupe keys, and the confirmation is one per series.
        """
        repository = self.store.within(session)
        data = envelope.data
        size = len(data["sessions"])
        sessions = [
            with_series_place(session_data, data["series_id"], data["protocol"]["name"], position, size)
            for position, session_data in enumerate(data["sessions"], start=1)
        ]
        for session_data in sessions:
            self.apply_booking_event(repository, EventType.BOOKING_CREATED, session_data)
        now = self.clock()
        ids = [session_data["booking_id"] for session_data in sessions]
        # Sessions moved or cancelled before this event arrived are described as they are now.
        newest = {s["booking_id"]: s for s in sessions} | repository.series_sessions(ids)
        confirmation = plan_series_confirmation(data["series_id"], [BookingSnapshot.from_event(s) for s in newest.values()], now)
        context = series_message_context(data, newest)
        repository.add_new(None, data["patient"]["email"], [confirmation], context, now)

    def on_series_cancelled(self, session: Session, envelope: Envelope) -> None:
        """One email about the cancelled sessions (with their CANCEL invites) instead of one notice per session."""
        repository = self.store.within(session)
        data = envelope.data
        now = self.clock()
        cancelled, kept = data["cancelled_booking_ids"], data["kept_booking_ids"]
        repository.cover_cancellations(data["series_id"], cancelled, now)
        # A session's notice planned before this event came waits SERIES_SETTLE: this email replaces it.
        repository.cancel_pending_of_kind(cancelled, MessageKind.CANCELLATION_NOTICE, result=COVERED_BY_SERIES, now=now)
        known = repository.series_sessions([*cancelled, *kept])
        message = plan_series_cancellation(data["series_id"], cancelled, sum(i in known for i in cancelled), now)
        context = series_message_context(data, known) | {"cancelled_booking_ids": cancelled, "kept_booking_ids": kept}
        repository.add_new(None, data["patient"]["email"], [message], context, now)

    def on_crisis(self, oncall_email: str, window: timedelta = CRISIS_ALERT_WINDOW) -> Callable[[Session, Envelope], None]:
        """A handler that alerts ``oncall_email`` about a crisis screening (or a check-in alert): at once after a quiet period.

        Screenings arriving while an alert is still unsent join it; those arriving within ``window``
        of the last alert are gathered into one follow-up at the end of the window (see
        ``crisis_alert_due``). Every screening is listed in some alert; the pending one is a row in
        the database, so a restart loses nothing.
        """

        def handle(session: Session, envelope: Envelope) -> None:
            now = self.clock()
            repository = self.store.within(session)
            # A check-in alert (kapbook.check_in.alert) is listed like a screening: its id and the link to review it.
            item_id = envelope.data.get("screening_id") or envelope.data["check_in_id"]
            screening = {"screening_id": item_id, "review_url": envelope.data["review_url"]}
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

    def on_webhook_disabled(self, session: Session, envelope: Envelope) -> None:
        """Email each admin the event names that a webhook endpoint was turned off (once each)."""
        data, now = envelope.data, self.clock()
        context = {"event_id": envelope.id, "endpoint_id": data["endpoint_id"], "url": data["url"],
                   "description": data["description"], "failed_deliveries": data["failed_deliveries"]}
        repository = self.store.within(session)
        for admin_email in dict.fromkeys(email.lower() for email in data["recipients"]):
            repository.add_new(None, admin_email, [plan_webhook_disabled(envelope.id, admin_email, now)], context, now)

    def on_sign_in_link(self, session: Session, envelope: Envelope) -> None:
        """Email the patient's one-time sign-in link at once (once per event; never once it has expired)."""
        data = envelope.data
        link = plan_sign_in_link(envelope.id, datetime.fromisoformat(data["expires_at"]), self.clock())
        context = {"event_id": envelope.id, "name": data.get("name"), "link_url": data["link_url"],
                   "expires_at": data["expires_at"]}
        if link.skip_reason is not None:
            context.pop("link_url")  # never sent, so not kept either
        self.store.within(session).add_new(None, data["email"], [link], context, self.clock())

    def on_waitlist_event(self, kind: MessageKind) -> Callable[[Session, Envelope], None]:
        """A handler that emails the patient about the waitlist at once (once per event)."""

        def handle(session: Session, envelope: Envelope) -> None:
            data, now = envelope.data, self.clock()
            message = plan_waitlist_message(kind, envelope.id, datetime.fromisoformat(data["expires_at"]), now)
            context = {"event_id": envelope.id, **data}
            if message.skip_reason is not None:  # never sent, so its links are not kept either
                context = {key: value for key, value in context.items() if key not in ("claim_url", "decline_url", "leave_url")}
            self.store.within(session).add_new(None, data["patient"]["email"], [message], context, now)

        return handle


def keep_series_snapshot(repository: RemindersRepository, snapshot: BookingSnapshot, data: dict, now: datetime) -> None:
    """Keep a series session's snapshot if it is the newest seen: series emails are written from it."""
    if snapshot.series is None:
        return
    kept = repository.series_session_version(snapshot.booking_id)
    same = kept is not None and (kept.sequence, kept.status) == (snapshot.sequence, snapshot.status)
    if kept is not None and (same or kept.supersedes(snapshot.sequence, snapshot.status)):
        return
    repository.save_series_session(snapshot.series.series_id, data, snapshot, now, known=kept is not None)


def series_message_context(data: dict[str, Any], sessions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a series email is written from: the series, the patient, the sessions' snapshots by booking id."""
    return {"series_id": data["series_id"], "protocol": data["protocol"], "patient": data["patient"],
            "sessions": sessions}


def on_password_reset_link(planner: MessagePlanner) -> Callable[[Session, Envelope], None]:
    """A handler that emails a staff member their one-time password reset link at once."""

    def handle(session: Session, envelope: Envelope) -> None:
        now = planner.clock()
        data = envelope.data
        message = PlannedMessage(kind=MessageKind.STAFF_PASSWORD_RESET, dedupe_key=password_reset_dedupe_key(data["reset_id"]),
                                 due_at=now, status="scheduled", essential=True)
        context = {key: data[key] for key in ("reset_id", "name", "link_url", "expires_at")}
        planner.store.within(session).add_new(None, data["email"], [message], context, now)

    return handle


def with_previous_start(event_type: str, event_data: dict[str, Any], latest: BookingVersion | None) -> dict[str, Any]:
    """The event data to write emails from; a reschedule learns the old time from the version it replaces."""
    data = dict(event_data)
    if event_type == EventType.BOOKING_RESCHEDULED and not data.get("previous_start") and latest and latest.start:
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
