"""The dispatcher: claims due messages, sends them, records what happened.

Claiming takes a lease: the message moves to ``sending`` until ``lease_until``. On PostgreSQL
the claim skips rows another dispatcher has locked (FOR UPDATE SKIP LOCKED); on SQLite the
claim runs in a BEGIN IMMEDIATE transaction, which serialises claimers just the same. A
dispatcher that dies mid-batch leaves leases that expire, and its messages are claimed again.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kapbook_reminders.adapters import tables as t
from kapbook_reminders.adapters.smtp import DeliveryFailed, MailSender
from kapbook_reminders.domain.compose import MessageNoLongerRelevant

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Composer = Callable[[dict[str, Any], datetime], EmailMessage]
LEASE = timedelta(seconds=60)
RETRY_BASE = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=30)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 5 s, 10 s, 20 s, ... at most 30 min."""
    return min(RETRY_MAX, RETRY_BASE * 2 ** max(0, attempts - 1))


@dataclass
class Dispatcher:
    sessions: sessionmaker[Session]
    sender: MailSender
    compose: Composer
    clock: Clock
    batch_size: int = 50
    max_attempts: int = 6

    def dispatch_due(self) -> int:
        """Send every message due now (one batch); returns how many were attempted."""
        claimed = self.claim()
        for message in claimed:
            self._deliver(message)
        return len(claimed)

    def claim(self) -> list[dict[str, Any]]:
        now = self.clock()
        with self.sessions.begin() as session:
            query = self._due_query(now, session)
            rows = [dict(row) for row in session.execute(query).mappings()]
            if rows:
                session.execute(
                    update(t.messages)
                    .where(t.messages.c.id.in_([row["id"] for row in rows]))
                    .values(status="sending", lease_until=now + LEASE, updated_at=now)
                )
        return rows

    def _due_query(self, now: datetime, session: Session):
        m = t.messages.c
        due = and_(m.status == "scheduled", m.due_at <= now, or_(m.next_attempt_at.is_(None), m.next_attempt_at <= now))
        abandoned = and_(m.status == "sending", m.lease_until < now)
        query = select(t.messages).where(or_(due, abandoned)).order_by(m.due_at).limit(self.batch_size)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return query

    def _deliver(self, message: dict[str, Any]) -> None:
        now = self.clock()
        if not message["essential"] and self._unsubscribed(message["recipient"]):
            self._finish(message["id"], status="skipped", result="recipient unsubscribed from non-essential email")
            return
        try:
            email = self.compose(message, now)
        except MessageNoLongerRelevant as reason:
            self._finish(message["id"], status="cancelled", result=f"not sent: {reason}")
            return
        except Exception as error:  # a template or privacy-guard failure: never retried blindly
            log.exception("message could not be composed", extra={"message_id": message["id"]})
            self._finish(message["id"], status="failed", result=f"could not be composed: {error!r}"[:500])
            return
        try:
            self.sender.send(email)
        except DeliveryFailed as failure:
            self._record_failure(message, failure, now)
            return
        self._finish(message["id"], status="sent", result="accepted by SMTP server", sent_at=now,
                     smtp_message_id=email["Message-ID"])
        log.info("message sent", extra={"message_id": message["id"], "kind": message["kind"]})

    def _record_failure(self, message: dict[str, Any], failure: DeliveryFailed, now: datetime) -> None:
        attempts = message["attempts"] + 1
        if failure.temporary and attempts < self.max_attempts:
            self._finish(message["id"], status="scheduled", result=f"temporary failure: {failure}", attempts=attempts,
                         next_attempt_at=now + retry_delay(attempts))
            log.warning("message send failed; will retry", extra={"message_id": message["id"], "attempts": attempts})
            return
        self._finish(message["id"], status="failed", result=str(failure), attempts=attempts)
        log.error("message failed", extra={"message_id": message["id"], "attempts": attempts})

    def _finish(self, message_id: str, **values: Any) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(t.messages)
                .where(t.messages.c.id == message_id, t.messages.c.status == "sending")
                .values(lease_until=None, updated_at=self.clock(), **values)
            )

    def _unsubscribed(self, email: str) -> bool:
        with self.sessions() as session:
            row = session.execute(
                select(t.contact_preferences.c.unsubscribed_at).where(t.contact_preferences.c.email == email.lower())
            ).first()
        return bool(row and row[0])

    def run(self, stop: threading.Event, idle_interval: float = 0.2) -> None:
        """Dispatch until ``stop`` is set."""
        while not stop.is_set():
            try:
                if self.dispatch_due():
                    continue
            except Exception:
                log.exception("dispatch cycle failed")
                stop.wait(2.0)
            stop.wait(idle_interval)


def resend(session: Session, message_id: str, now: datetime) -> bool:
    """Put a failed message back in the queue; returns False if it is not failed."""
    result = session.execute(
        update(t.messages)
        .where(t.messages.c.id == message_id, t.messages.c.status == "failed")
        .values(status="scheduled", attempts=0, next_attempt_at=None, due_at=now, result="resend requested", updated_at=now)
    )
    return result.rowcount == 1
