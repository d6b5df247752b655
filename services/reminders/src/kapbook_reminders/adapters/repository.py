"""Queries on the reminders service's own tables.

A ``RemindersRepository`` runs them in one session; a ``MessageStore`` hands out repositories, one
per transaction (or one in a session the caller already holds, like the consumer's inbox
transaction). The use cases see only these two, so unit tests can pass in-memory ones.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kapbook_platform.staff.audit import record_audit
from kapbook_reminders.adapters import tables
from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.plan import BookingVersion, MessageKind, PlannedMessage
from kapbook_reminders.domain.unsubscribe import normalise_email

# What staff see of a message: times and the delivery result, never the email's content.
LISTED_COLUMNS = (
    "id", "booking_id", "kind", "sequence", "recipient", "status", "essential", "due_at", "created_at",
    "updated_at", "sent_at", "attempts", "next_attempt_at", "result", "smtp_message_id",
)


@dataclass(frozen=True)
class NotificationFilter:
    booking_id: str | None = None
    status: str | None = None
    kind: str | None = None
    recipient: str | None = None
    limit: int = 100
    offset: int = 0


class RemindersRepository(Protocol):
    """What the use cases read and write; every method runs in the repository's one transaction."""

    def latest_version(self, booking_id: str, *, lock: bool = False) -> BookingVersion | None: ...
    def record_version(self, snapshot: BookingSnapshot, now: datetime, *, known: bool) -> None: ...
    def cancel_scheduled(self, booking_id: str, *, keep: set[str], result: str, now: datetime) -> None: ...
    def add_new(self, booking_id: str | None, recipient: str, planned: Iterable[PlannedMessage],
                context: dict, now: datetime) -> None: ...
    def claim_due(self, now: datetime, *, token: str, lease_until: datetime, limit: int) -> list[dict[str, Any]]: ...
    def open_crisis_alert(self, recipient: str) -> dict[str, Any] | None: ...
    def last_crisis_alert_due(self, recipient: str) -> datetime | None: ...
    def extend_crisis_alert(self, message_id: str, context: dict, now: datetime) -> bool: ...
    def renew_lease(self, message: Mapping[str, Any], lease_until: datetime) -> bool: ...
    def finish(self, message: Mapping[str, Any], now: datetime, **values: Any) -> None: ...
    def later_reminder_due(self, message: Mapping[str, Any], now: datetime) -> bool: ...
    def series_session_version(self, booking_id: str) -> BookingVersion | None: ...
    def save_series_session(self, series_id: str, data: dict, snapshot: BookingSnapshot, now: datetime,
                            *, known: bool) -> None: ...
    def series_sessions(self, booking_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def cover_cancellations(self, series_id: str, booking_ids: Iterable[str], now: datetime) -> None: ...
    def is_cancellation_covered(self, booking_id: str) -> bool: ...
    def replace_manage_url(self, booking_id: str, manage_url: str, now: datetime) -> None: ...
    def cancel_pending_of_kind(self, booking_ids: Iterable[str], kind: MessageKind, *, result: str,
                               now: datetime, keep: set[str] | None = None) -> None: ...
    def is_unsubscribed(self, email: str) -> bool: ...
    def unsubscribe(self, email: str, now: datetime) -> None: ...
    def list_notifications(self, where: NotificationFilter) -> list[dict[str, Any]]: ...
    def notification(self, message_id: str) -> dict[str, Any] | None: ...
    def message(self, message_id: str) -> dict[str, Any] | None: ...
    def requeue_failed(self, message_id: str, now: datetime, result: str) -> None: ...
    def record_audit(self, actor: str, action: str, target: str, detail: dict | None = None) -> None: ...


class MessageStore(Protocol):
    def begin(self) -> AbstractContextManager[RemindersRepository]:
        """A repository in a new transaction, committed when the block ends without an error."""

    def read(self) -> AbstractContextManager[RemindersRepository]:
        """A repository for reads only."""

    def within(self, session: Session) -> RemindersRepository:
        """A repository in the caller's session (and transaction)."""


@dataclass(frozen=True)
class SqlMessageStore:
    sessions: sessionmaker[Session]
    audit_log: Table

    @contextmanager
    def begin(self) -> Iterator[SqlRemindersRepository]:
        with self.sessions.begin() as session:
            yield self.within(session)

    @contextmanager
    def read(self) -> Iterator[SqlRemindersRepository]:
        with self.sessions() as session:
            yield self.within(session)

    def within(self, session: Session) -> SqlRemindersRepository:
        return SqlRemindersRepository(session, self.audit_log)


@dataclass(frozen=True)
class SqlRemindersRepository:
    session: Session
    audit_log: Table

    # --- booking versions ------------------------------------------------------------------

    def latest_version(self, booking_id: str, *, lock: bool = False) -> BookingVersion | None:
        """The newest version of the booking seen so far; ``lock`` serialises planners of one booking."""
        v = tables.booking_versions.c
        query = select(v.sequence, v.status, v.start).where(v.booking_id == booking_id)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return None if row is None else BookingVersion(sequence=row.sequence, status=row.status, start=row.start)

    def record_version(self, snapshot: BookingSnapshot, now: datetime, *, known: bool) -> None:
        """Store the snapshot's version as the booking's newest (``known``: one is stored already)."""
        versions = tables.booking_versions
        values = {"sequence": snapshot.sequence, "status": snapshot.status.value, "start": snapshot.start, "updated_at": now}
        if known:
            self.session.execute(update(versions).where(versions.c.booking_id == snapshot.booking_id).values(values))
        else:
            self.session.execute(versions.insert().values(booking_id=snapshot.booking_id, **values))

    # --- planning ---------------------------------------------------------------------------

    def cancel_scheduled(self, booking_id: str, *, keep: set[str], result: str, now: datetime) -> None:
        """Cancel the booking's scheduled messages whose dedupe key is not in ``keep``."""
        m = tables.messages.c
        self.session.execute(
            update(tables.messages)
            .where(m.booking_id == booking_id, m.status == "scheduled", m.dedupe_key.not_in(keep))
            .values(status="cancelled", result=result, updated_at=now)
        )

    def add_new(self, booking_id: str | None, recipient: str, planned: Iterable[PlannedMessage],
                context: dict, now: datetime) -> None:
        """Insert the planned messages whose dedupe key is not stored yet."""
        planned = list(planned)
        if not planned:
            return
        m = tables.messages.c
        keys = [message.dedupe_key for message in planned]
        existing = set(self.session.execute(select(m.dedupe_key).where(m.dedupe_key.in_(keys))).scalars())
        rows = [new_row(message, booking_id, recipient, context, now) for message in planned
                if message.dedupe_key not in existing]
        if rows:
            self.session.execute(tables.messages.insert(), rows)

    def replace_manage_url(self, booking_id: str, manage_url: str, now: datetime) -> None:
        """Put ``manage_url`` in the booking's messages not sent yet and in its kept series snapshot."""
        m = tables.messages.c
        pending = self.session.execute(
            select(m.id, m.context).where(m.booking_id == booking_id, m.status == "scheduled")).all()
        for row in pending:
            self.session.execute(update(tables.messages).where(m.id == row.id)
                                 .values(context={**row.context, "manage_url": manage_url}, updated_at=now))
        s = tables.series_sessions.c
        kept = self.session.execute(select(s.snapshot).where(s.booking_id == booking_id)).scalar_one_or_none()
        if kept is not None:
            self.session.execute(update(tables.series_sessions).where(s.booking_id == booking_id)
                                 .values(snapshot={**kept, "manage_url": manage_url}, updated_at=now))

    def cancel_pending_of_kind(self, booking_ids: Iterable[str], kind: MessageKind, *, result: str,
                               now: datetime, keep: set[str] | None = None) -> None:
        """Cancel the scheduled messages of ``kind`` of these bookings (but those whose dedupe key is in ``keep``)."""
        m = tables.messages.c
        self.session.execute(
            update(tables.messages)
            .where(m.booking_id.in_(list(booking_ids)), m.kind == kind.value, m.status == "scheduled",
                   m.dedupe_key.not_in(keep or set()))
            .values(status="cancelled", result=result, updated_at=now)
        )

    # --- treatment series -------------------------------------------------------------------

    def series_session_version(self, booking_id: str) -> BookingVersion | None:
        """The version of the newest snapshot kept of a series session (locked: planners of one session queue up)."""
        s = tables.series_sessions.c
        query = select(s.sequence, s.status).where(s.booking_id == booking_id).with_for_update()
        row = self.session.execute(query).first()
        return None if row is None else BookingVersion(sequence=row.sequence, status=row.status)

    def save_series_session(self, series_id: str, data: dict, snapshot: BookingSnapshot, now: datetime,
                            *, known: bool) -> None:
        """Keep ``data`` as the session's newest snapshot (``known``: one is kept already)."""
        table = tables.series_sessions
        values = {"series_id": series_id, "sequence": snapshot.sequence, "status": snapshot.status.value,
                  "snapshot": data, "updated_at": now}
        if known:
            self.session.execute(update(table).where(table.c.booking_id == snapshot.booking_id).values(values))
        else:
            self.session.execute(table.insert().values(booking_id=snapshot.booking_id, **values))

    def series_sessions(self, booking_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The newest snapshot kept of each of these sessions (those known), by booking id."""
        if not booking_ids:
            return {}
        s = tables.series_sessions.c
        rows = self.session.execute(select(s.booking_id, s.snapshot).where(s.booking_id.in_(booking_ids)))
        return {row.booking_id: row.snapshot for row in rows}

    def cover_cancellations(self, series_id: str, booking_ids: Iterable[str], now: datetime) -> None:
        """Note that a series email covers these sessions' cancellations (each once)."""
        c = tables.covered_cancellations.c
        wanted = list(dict.fromkeys(booking_ids))
        if not wanted:
            return
        present = set(self.session.execute(select(c.booking_id).where(c.booking_id.in_(wanted))).scalars())
        rows = [{"booking_id": b, "series_id": series_id, "covered_at": now} for b in wanted if b not in present]
        if rows:
            self.session.execute(tables.covered_cancellations.insert(), rows)

    def is_cancellation_covered(self, booking_id: str) -> bool:
        c = tables.covered_cancellations.c
        return self.session.execute(select(c.booking_id).where(c.booking_id == booking_id)).first() is not None

    # --- crisis alerts ----------------------------------------------------------------------

    def open_crisis_alert(self, recipient: str) -> dict[str, Any] | None:
        """The crisis alert to ``recipient`` no dispatcher has claimed yet, locked until the transaction ends."""
        m = tables.messages.c
        query = (select(tables.messages)
                 .where(m.kind == MessageKind.CRISIS_ALERT.value, m.recipient == recipient, m.status == "scheduled")
                 .order_by(m.due_at, m.created_at).limit(1))
        if self.session.get_bind().dialect.name == "postgresql":
            # A dispatcher claiming it meanwhile makes us wait, then the row no longer matches: a new alert is made.
            query = query.with_for_update()
        row = self.session.execute(query).mappings().first()
        return None if row is None else dict(row)

    def last_crisis_alert_due(self, recipient: str) -> datetime | None:
        """When the newest crisis alert to ``recipient`` was (or is) due, whatever became of it."""
        m = tables.messages.c
        return self.session.execute(
            select(func.max(m.due_at)).where(m.kind == MessageKind.CRISIS_ALERT.value, m.recipient == recipient)
        ).scalar()

    def extend_crisis_alert(self, message_id: str, context: dict, now: datetime) -> bool:
        """Replace an unclaimed crisis alert's context (the screenings it lists); whether it was still unclaimed."""
        m = tables.messages.c
        return self.session.execute(
            update(tables.messages).where(m.id == message_id, m.status == "scheduled")
            .values(context=context, updated_at=now)
        ).rowcount == 1

    # --- dispatch ---------------------------------------------------------------------------

    def claim_due(self, now: datetime, *, token: str, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
        """Lease up to ``limit`` due messages (and abandoned ones) to the claim ``token``."""
        rows = [dict(row) for row in self.session.execute(self._due_query(now, limit)).mappings()]
        if rows:
            self.session.execute(
                update(tables.messages)
                .where(tables.messages.c.id.in_([row["id"] for row in rows]))
                .values(status="sending", claim_token=token, lease_until=lease_until, updated_at=now)
            )
        return [row | {"claim_token": token} for row in rows]

    def _due_query(self, now: datetime, limit: int):
        m = tables.messages.c
        due = and_(m.status == "scheduled", m.due_at <= now, or_(m.next_attempt_at.is_(None), m.next_attempt_at <= now))
        abandoned = and_(m.status == "sending", m.lease_until < now)
        query = select(tables.messages).where(or_(due, abandoned)).order_by(m.due_at, m.created_at).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return query

    def renew_lease(self, message: Mapping[str, Any], lease_until: datetime) -> bool:
        """Extend the lease, if the claim is still the message's; whether it was."""
        return self.session.execute(
            update(tables.messages).where(_still_claimed(message)).values(lease_until=lease_until)
        ).rowcount == 1

    def finish(self, message: Mapping[str, Any], now: datetime, **values: Any) -> None:
        """Record the outcome and release the lease, unless another claim has taken the message over."""
        self.session.execute(
            update(tables.messages)
            .where(_still_claimed(message))
            .values(lease_until=None, claim_token=None, updated_at=now, **values)
        )

    def later_reminder_due(self, message: Mapping[str, Any], now: datetime) -> bool:
        """Whether a later reminder of the same booking version is due (or gone) already."""
        m = tables.messages.c
        later = exists().where(
            m.booking_id == message["booking_id"],
            m.sequence == message["sequence"],
            m.kind == MessageKind.REMINDER.value,
            m.due_at > message["due_at"],
            m.due_at <= now,
            m.status.in_(("scheduled", "sending", "sent")),
        )
        return bool(self.session.execute(select(later)).scalar())

    # --- contact preferences ----------------------------------------------------------------

    def is_unsubscribed(self, email: str) -> bool:
        prefs = tables.contact_preferences.c
        row = self.session.execute(select(prefs.unsubscribed_at).where(prefs.email == normalise_email(email))).first()
        return bool(row and row[0])

    def unsubscribe(self, email: str, now: datetime) -> None:
        """Record the address as unsubscribed, keeping the first time."""
        email = normalise_email(email)
        prefs = tables.contact_preferences
        current = self.session.execute(select(prefs.c.unsubscribed_at).where(prefs.c.email == email)).first()
        if current is None:
            self.session.execute(prefs.insert().values(email=email, unsubscribed_at=now))
        elif current[0] is None:
            self.session.execute(update(prefs).where(prefs.c.email == email).values(unsubscribed_at=now))

    # --- staff API --------------------------------------------------------------------------

    def list_notifications(self, where: NotificationFilter) -> list[dict[str, Any]]:
        """Notifications matching every given filter, by due time (then creation) ascending."""
        m = tables.messages.c
        query = select(*(m[name] for name in LISTED_COLUMNS)).order_by(m.due_at, m.created_at, m.id)
        for column, value in (("booking_id", where.booking_id), ("status", where.status), ("kind", where.kind)):
            if value is not None:
                query = query.where(m[column] == value)
        if where.recipient is not None:
            query = query.where(func.lower(m.recipient) == normalise_email(where.recipient))
        return [dict(row) for row in self.session.execute(query.limit(where.limit).offset(where.offset)).mappings()]

    def notification(self, message_id: str) -> dict[str, Any] | None:
        """What staff see of one message, or None."""
        m = tables.messages.c
        row = self.session.execute(select(*(m[name] for name in LISTED_COLUMNS)).where(m.id == message_id)).mappings().first()
        return None if row is None else dict(row)

    def message(self, message_id: str) -> dict[str, Any] | None:
        """The whole stored message, or None."""
        row = self.session.execute(select(tables.messages).where(tables.messages.c.id == message_id)).mappings().first()
        return None if row is None else dict(row)

    def requeue_failed(self, message_id: str, now: datetime, result: str) -> None:
        """Schedule a failed message again, due at once, with its attempts reset."""
        m = tables.messages.c
        self.session.execute(
            update(tables.messages)
            .where(m.id == message_id, m.status == "failed")
            .values(status="scheduled", attempts=0, next_attempt_at=now, result=result, updated_at=now)
        )

    def record_audit(self, actor: str, action: str, target: str, detail: dict | None = None) -> None:
        record_audit(self.session, self.audit_log, actor, action, target, detail)


def _still_claimed(message: Mapping[str, Any]):
    m = tables.messages.c
    return and_(m.id == message["id"], m.claim_token == message["claim_token"], m.status == "sending")


def new_row(message: PlannedMessage, booking_id: str | None, recipient: str, context: dict, now: datetime) -> dict:
    """The ``messages`` row of a newly planned message."""
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
