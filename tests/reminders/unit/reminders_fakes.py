"""Fakes for the reminders use cases: an in-memory store, a mail sender that records what it sends,
and ``Reminders``, the use cases wired to both.

``InMemoryStore`` keeps to the SQL repository's rules (dedupe keys, claim tokens, leases), so a
use case runs on it as it would on a database; a transaction that raises leaves nothing behind.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from kapbook_platform.contracts import make_envelope
from kapbook_reminders.adapters.repository import LISTED_COLUMNS, NotificationFilter, new_row
from kapbook_reminders.adapters.smtp import DeliveryFailed
from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.plan import BookingVersion, MessageKind, PlannedMessage
from kapbook_reminders.domain.plan_config import load_notification_plans
from kapbook_reminders.domain.unsubscribe import normalise_email
from kapbook_reminders.service_layer.dispatch import Dispatcher
from kapbook_reminders.service_layer.planning import MessagePlanner
from kapbook_reminders.service_layer.rendering import MessageComposer
from support.clock import TravellingClock

# The columns a newly planned message leaves NULL.
UNSET_COLUMNS = dict.fromkeys(("next_attempt_at", "lease_until", "claim_token", "sent_at", "smtp_message_id"))


@dataclass
class InMemoryStore:
    """A ``MessageStore`` that is its own ``RemindersRepository``."""

    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, BookingVersion] = field(default_factory=dict)
    unsubscribed: dict[str, datetime] = field(default_factory=dict)
    audit: list[tuple[str, str, str]] = field(default_factory=list)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)  # booking id -> newest series session row
    covered: dict[str, str] = field(default_factory=dict)  # booking id -> series id
    open_transactions: int = 0

    # --- MessageStore ------------------------------------------------------------------------

    @contextmanager
    def begin(self) -> Iterator[InMemoryStore]:
        saved = copy.deepcopy((self.messages, self.versions, self.unsubscribed, self.audit, self.series, self.covered))
        self.open_transactions += 1
        try:
            yield self
        except BaseException:
            self.messages, self.versions, self.unsubscribed, self.audit, self.series, self.covered = saved
            raise
        finally:
            self.open_transactions -= 1

    read = begin

    def within(self, session: object) -> InMemoryStore:
        return self

    # --- RemindersRepository -----------------------------------------------------------------

    def latest_version(self, booking_id: str, *, lock: bool = False) -> BookingVersion | None:
        return self.versions.get(booking_id)

    def record_version(self, snapshot: BookingSnapshot, now: datetime, *, known: bool) -> None:
        assert known == (snapshot.booking_id in self.versions)
        self.versions[snapshot.booking_id] = BookingVersion(snapshot.sequence, snapshot.status, snapshot.start)

    def cancel_scheduled(self, booking_id: str, *, keep: set[str], result: str, now: datetime) -> None:
        for row in self._rows(booking_id=booking_id, status="scheduled"):
            if row["dedupe_key"] not in keep:
                row.update(status="cancelled", result=result, updated_at=now)

    def add_new(self, booking_id: str | None, recipient: str, planned: Iterable[PlannedMessage],
                context: dict, now: datetime) -> None:
        stored = {row["dedupe_key"] for row in self.messages.values()}
        for message in planned:
            if message.dedupe_key not in stored:
                row = UNSET_COLUMNS | new_row(message, booking_id, recipient, copy.deepcopy(context), now)
                self.messages[row["id"]] = row

    def claim_due(self, now: datetime, *, token: str, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
        due = sorted((row for row in self.messages.values() if _claimable(row, now)),
                     key=lambda row: (row["due_at"], row["created_at"]))[:limit]
        claimed = [copy.deepcopy(row) | {"claim_token": token} for row in due]
        for row in due:
            row.update(status="sending", claim_token=token, lease_until=lease_until, updated_at=now)
        return claimed

    def open_crisis_alert(self, recipient: str) -> dict[str, Any] | None:
        rows = sorted(self._rows(kind=MessageKind.CRISIS_ALERT.value, recipient=recipient, status="scheduled"),
                      key=lambda row: (row["due_at"], row["created_at"]))
        return copy.deepcopy(rows[0]) if rows else None

    def last_crisis_alert_due(self, recipient: str) -> datetime | None:
        return max((row["due_at"] for row in self._rows(kind=MessageKind.CRISIS_ALERT.value, recipient=recipient)),
                   default=None)

    def extend_crisis_alert(self, message_id: str, context: dict, now: datetime) -> bool:
        row = self.messages.get(message_id)
        if row is None or row["status"] != "scheduled":
            return False
        row.update(context=copy.deepcopy(context), updated_at=now)
        return True

    def renew_lease(self, message: Mapping[str, Any], lease_until: datetime) -> bool:
        row = self._still_claimed(message)
        if row is not None:
            row["lease_until"] = lease_until
        return row is not None

    def finish(self, message: Mapping[str, Any], now: datetime, **values: Any) -> None:
        row = self._still_claimed(message)
        if row is not None:
            row.update(lease_until=None, claim_token=None, updated_at=now, **values)

    def later_reminder_due(self, message: Mapping[str, Any], now: datetime) -> bool:
        return any(
            message["due_at"] < row["due_at"] <= now and row["status"] in ("scheduled", "sending", "sent")
            for row in self._rows(booking_id=message["booking_id"], sequence=message["sequence"],
                                  kind=MessageKind.REMINDER.value)
        )

    def cancel_pending_of_kind(self, booking_ids: Iterable[str], kind: MessageKind, *, result: str,
                               now: datetime, keep: set[str] | None = None) -> None:
        for booking_id in booking_ids:
            for row in self._rows(booking_id=booking_id, kind=kind.value, status="scheduled"):
                if row["dedupe_key"] not in (keep or set()):
                    row.update(status="cancelled", result=result, updated_at=now)

    def replace_manage_url(self, booking_id: str, manage_url: str, now: datetime) -> None:
        for row in self._rows(booking_id=booking_id, status="scheduled"):
            row.update(context=row["context"] | {"manage_url": manage_url}, updated_at=now)
        if booking_id in self.series:
            kept = self.series[booking_id]
            kept["snapshot"] = kept["snapshot"] | {"manage_url": manage_url}

    def series_session_version(self, booking_id: str) -> BookingVersion | None:
        row = self.series.get(booking_id)
        return None if row is None else BookingVersion(row["sequence"], row["status"])

    def save_series_session(self, series_id: str, data: dict, snapshot: BookingSnapshot, now: datetime,
                            *, known: bool) -> None:
        assert known == (snapshot.booking_id in self.series)
        self.series[snapshot.booking_id] = {"series_id": series_id, "sequence": snapshot.sequence,
                                            "status": snapshot.status.value, "snapshot": copy.deepcopy(data)}

    def series_sessions(self, booking_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {i: copy.deepcopy(self.series[i]["snapshot"]) for i in booking_ids if i in self.series}

    def cover_cancellations(self, series_id: str, booking_ids: Iterable[str], now: datetime) -> None:
        for booking_id in booking_ids:
            self.covered.setdefault(booking_id, series_id)

    def is_cancellation_covered(self, booking_id: str) -> bool:
        return booking_id in self.covered

    def is_unsubscribed(self, email: str) -> bool:
        return normalise_email(email) in self.unsubscribed

    def unsubscribe(self, email: str, now: datetime) -> None:
        self.unsubscribed.setdefault(normalise_email(email), now)

    def list_notifications(self, where: NotificationFilter) -> list[dict[str, Any]]:
        wanted = {name: value for name in ("booking_id", "status", "kind") if (value := getattr(where, name)) is not None}
        rows = [row for row in self._rows(**wanted)
                if where.recipient is None or row["recipient"].lower() == normalise_email(where.recipient)]
        rows.sort(key=lambda row: (row["due_at"], row["created_at"], row["id"]))
        return [_listed(row) for row in rows[where.offset : where.offset + where.limit]]

    def notification(self, message_id: str) -> dict[str, Any] | None:
        row = self.messages.get(message_id)
        return None if row is None else _listed(row)

    def message(self, message_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.messages.get(message_id))

    def requeue_failed(self, message_id: str, now: datetime, result: str) -> None:
        row = self.messages[message_id]
        if row["status"] == "failed":
            row.update(status="scheduled", attempts=0, next_attempt_at=now, result=result, updated_at=now)

    def record_audit(self, actor: str, action: str, target: str, detail: dict | None = None) -> None:
        self.audit.append((actor, action, target))

    # --- for the tests -----------------------------------------------------------------------

    def by_kind(self, kind: MessageKind | str, **where: Any) -> list[dict[str, Any]]:
        return sorted(self._rows(kind=str(kind), **where), key=lambda row: row["due_at"])

    def _rows(self, **where: Any) -> list[dict[str, Any]]:
        return [row for row in self.messages.values() if all(row.get(name) == value for name, value in where.items())]

    def _still_claimed(self, message: Mapping[str, Any]) -> dict[str, Any] | None:
        row = self.messages.get(message["id"])
        if row is None or row["status"] != "sending" or row["claim_token"] != message["claim_token"]:
            return None
        return row


def _claimable(row: dict[str, Any], now: datetime) -> bool:
    if row["status"] == "sending":
        return row.get("lease_until") is not None and row["lease_until"] < now
    retry_at = row.get("next_attempt_at")
    return row["status"] == "scheduled" and row["due_at"] <= now and (retry_at is None or retry_at <= now)


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    return {name: copy.deepcopy(row.get(name)) for name in LISTED_COLUMNS}


@dataclass
class FakeMailSender:
    """A ``MailSender`` that keeps what it was given; ``failures`` are raised by the next sends, in order.

    Each send also notes whether the store had a transaction open: a network call must not.
    """

    store: InMemoryStore
    sent: list[EmailMessage] = field(default_factory=list)
    failures: list[DeliveryFailed] = field(default_factory=list)
    attempts: int = 0
    sends_in_transaction: int = 0

    @contextmanager
    def connect(self) -> Iterator[FakeMailSender]:
        yield self

    def send(self, message: EmailMessage) -> None:
        self.attempts += 1
        self.sends_in_transaction += self.store.open_transactions > 0
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)

    def recipients(self) -> list[str]:
        return [message["To"].addresses[0].addr_spec for message in self.sent]


# --- the use cases wired to the fakes ----------------------------------------------------------

BOOKING_ID = "5b0c7a7e-2f0c-4c61-9d55-7f6a4c1f0a11"
START = datetime(2027, 3, 9, 15, 30, tzinfo=UTC)  # Tuesday 10:30 in New York
BOOKED_AT = START - timedelta(days=5)
PATIENT = "alex@example.org"
PLANS = load_notification_plans()


@dataclass
class Reminders:
    """The use cases wired to fakes, as bootstrap wires them to the database and SMTP."""

    clock: TravellingClock
    store: InMemoryStore
    sender: FakeMailSender
    planner: MessagePlanner
    dispatcher: Dispatcher

    @classmethod
    def build(cls, branding, max_attempts: int = 3) -> Reminders:
        clock, store = TravellingClock(BOOKED_AT), InMemoryStore()
        sender = FakeMailSender(store)
        composer = MessageComposer(branding, "https://reminders.harbor.example", PLANS, b"unit-test-key")
        dispatcher = Dispatcher(store, sender, composer, clock, max_attempts=max_attempts, connections=1)
        return cls(clock, store, sender, MessagePlanner(PLANS, clock, store), dispatcher)

    def deliver(self, event_type: str, **changes: Any) -> dict[str, Any]:
        """Hand a booking event to the planner, as the consumer would (it passes its session)."""
        envelope = make_envelope(event_type, "/kapbook/booking", booking_data(**changes))
        self.planner.on_booking_event(session=None, envelope=envelope)
        return envelope.data

    def one(self, kind: MessageKind, **where: Any) -> dict[str, Any]:
        (row,) = self.store.by_kind(kind, **where)
        return row


def booking_data(*, start: datetime = START, sequence: int = 0, status: str = "booked", **changes: Any) -> dict:
    return {
        "booking_id": BOOKING_ID,
        "sequence": sequence,
        "status": status,
        "appointment_type": {"code": "IV-INFUSION", "name": "IV ketamine infusion", "category": "dosing_iv",
                             "modality": "in_person"},
        "start": start.isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
        "location": {"id": "loc-1", "name": "Harbor Clinic Downtown", "timezone": "America/New_York",
                     "address": "100 Harbor Street, Boston, MA 02110"},
        "clinician": {"id": "clin-1", "name": "Dr Rivera"},
        "patient": {"name": "Alex Morgan", "email": PATIENT, "timezone": "America/New_York"},
        "manage_url": "https://book.harbor.example/manage/tok-123",
        "cancellation_notice_hours": 24,
    } | changes
