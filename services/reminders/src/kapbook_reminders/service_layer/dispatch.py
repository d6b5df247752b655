"""The dispatcher: claims due messages, sends them, records what happened.

Claiming takes a lease: the message moves to ``sending`` with a fresh claim token until
``lease_until``. On PostgreSQL the claim skips rows another dispatcher has locked (FOR UPDATE
SKIP LOCKED); on SQLite every transaction begins IMMEDIATE, which serialises claimers just
the same. A dispatcher that dies mid-batch leaves leases that expire, and its messages are
claimed again.

Right before each send the dispatcher makes sure the claim is still its own (once half the
lease has gone, it renews the lease, but only while the claim token is still its own), and
checks the message once more against the booking's newest version, the appointment's start
and the recipient's preferences. So a slow batch whose lease was taken
over sends nothing twice, and a booking cancelled after the claim gets no reminder.

The SMTP sessions stay open from one batch to the next while messages keep coming, and are
closed as soon as a claim finds nothing due (so no session idles until the server drops it).
A session dropped mid-batch is replaced; see ``SmtpConnection`` for why that sends nothing twice.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from kapbook_platform.clock import Clock
from kapbook_platform.database import is_database_unavailable
from kapbook_reminders.adapters.repository import MessageStore, RemindersRepository
from kapbook_reminders.adapters.smtp import DeliveryFailed, MailConnection, MailSender
from kapbook_reminders.domain.compose import MessageNoLongerRelevant
from kapbook_reminders.domain.sending import check_before_sending, with_newest_sessions, without_secrets

log = logging.getLogger(__name__)

Composer = Callable[[dict[str, Any], datetime], EmailMessage]
# Long enough for one SMTP transaction (each step times out after SMTP_TIMEOUT, 10 s by default);
# it is also how long the messages of a dispatcher that died wait before another one sends them.
LEASE = timedelta(seconds=120)
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=30)
# Noted on each claimed message: until when this dispatcher's lease on it runs (its own clock).
LEASED_UNTIL = "leased_until"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 30 s, 1 min, 2 min, ... at most 30 min."""
    return min(RETRY_MAX, RETRY_BASE * 2 ** max(0, attempts - 1))


@dataclass
class Dispatcher:
    store: MessageStore
    sender: MailSender
    compose: Composer
    clock: Clock
    batch_size: int = 50
    max_attempts: int = 10
    # SMTP sessions per batch: one composes while others wait for the server (4 round trips a message).
    connections: int = 4
    lease: timedelta = LEASE
    # The open SMTP sessions (one per lane) and the threads that use them, kept between batches.
    _sessions: ExitStack = field(default_factory=ExitStack, init=False, repr=False)
    _lanes: list[MailConnection] = field(default_factory=list, init=False, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def dispatch_due(self) -> int:
        """Send every message due now (one batch); returns how many were claimed."""
        claimed = self.claim()
        if not claimed:
            self.close()  # idle: hold no SMTP session open until the next message
            return 0
        self.send(claimed)
        return len(claimed)

    def close(self) -> None:
        """End the SMTP sessions and the sending threads (the next batch opens new ones)."""
        self._lanes = []
        sessions, self._sessions = self._sessions, ExitStack()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()
        sessions.close()

    def dispatch_all_due(self) -> int:
        """Dispatch batches until nothing is due; returns how many messages were claimed."""
        total = 0
        while count := self.dispatch_due():
            total += count
        return total

    def send(self, claimed: list[dict[str, Any]]) -> None:
        """Send claimed messages over up to ``connections`` SMTP sessions at once, recording each outcome.

        Several sessions keep the SMTP server's round trips (four per message) from idling
        the dispatcher: one thread composes while another waits for a reply.
        """
        lanes = [claimed[lane :: self.connections] for lane in range(min(self.connections, len(claimed)))]
        connections = self._connections(len(lanes))
        if len(lanes) <= 1:
            for messages, connection in zip(lanes, connections):
                self._send_lane(messages, connection)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.connections, thread_name_prefix="smtp")
        running = [self._pool.submit(self._send_lane, *lane) for lane in zip(lanes, connections)]
        wait(running)  # every lane done before an error is raised: no session is left in use
        for finished in running:
            finished.result()

    def _connections(self, count: int) -> list[MailConnection]:
        """``count`` SMTP sessions, those of the last batch first (each opens on its first send)."""
        while len(self._lanes) < count:
            self._lanes.append(self._sessions.enter_context(self.sender.connect()))
        return self._lanes[:count]

    def _send_lane(self, messages: list[dict[str, Any]], connection: MailConnection) -> None:
        for message in messages:
            self._deliver(message, connection)

    def claim(self) -> list[dict[str, Any]]:
        """Lease up to ``batch_size`` due messages (and abandoned ones) to this dispatcher."""
        now = self.clock()
        lease_until = now + self.lease
        with self.store.begin() as repository:
            claimed = repository.claim_due(now, token=str(uuid.uuid4()), lease_until=lease_until, limit=self.batch_size)
        return [message | {LEASED_UNTIL: lease_until} for message in claimed]

    def _still_ours(self, repository: RemindersRepository, message: dict[str, Any], now: datetime) -> bool:
        """Whether the claim is still this dispatcher's, renewing the lease once half of it has gone.

        While more than half the lease is left, no other dispatcher can have taken the message
        over (only an expired lease is claimed again; nothing else touches a message being sent),
        so the renewal, a write per email, waits. This holds while dispatchers' clocks agree
        within half a lease (60 s by default).
        """
        if (leased_until := message.get(LEASED_UNTIL)) is not None and now < leased_until - self.lease / 2:
            return True
        if not repository.renew_lease(message, now + self.lease):
            return False
        message[LEASED_UNTIL] = now + self.lease
        return True

    def _deliver(self, message: dict[str, Any], connection: MailConnection) -> None:
        now = self.clock()
        with self.store.begin() as repository:
            if not self._still_ours(repository, message, now):
                log.info("claim taken over; not sending", extra={"message_id": message["id"]})
                return
            verdict = check_before_sending(repository, message, now)
            # A series email is written from each session's newest snapshot, read in the same transaction.
            to_compose = with_newest_sessions(repository, message) if verdict is None else message
        if verdict is not None:
            self._finish(message, status=verdict.status, result=f"not sent: {verdict.reason}")
            return
        try:
            email = self.compose(to_compose, now)
        except MessageNoLongerRelevant as reason:
            self._finish(message, status="cancelled", result=f"not sent: {reason}")
            return
        except Exception as error:  # a template or privacy-guard failure: never retried blindly
            log.exception("message could not be composed", extra={"message_id": message["id"]})
            self._finish(message, status="failed", result=f"could not be composed: {error!r}"[:500])
            return
        try:
            connection.send(email)
        except DeliveryFailed as failure:
            self._record_failure(message, failure)
            return
        self._record_sent(message, now, email["Message-ID"])
        log.info("message sent", extra={"message_id": message["id"], "kind": message["kind"]})

    def _record_sent(self, message: dict[str, Any], now: datetime, smtp_message_id: str) -> None:
        """Record an accepted email, waiting out a database outage while the lease is still ours.

        Giving up here would send the email again once the lease runs out, so keep trying for
        most of the lease before letting the error through.
        """
        deadline = time.monotonic() + self.lease.total_seconds() / 2
        delay = 0.2
        while True:
            try:
                self._finish(message, status="sent", result="accepted by the SMTP server", sent_at=now,
                             smtp_message_id=smtp_message_id)
                return
            except Exception as error:
                if not is_database_unavailable(error) or time.monotonic() + delay > deadline:
                    raise
                log.warning("database unavailable; retrying to record a sent message",
                            extra={"message_id": message["id"]})
                time.sleep(delay)
                delay = min(delay * 2, 3.0)

    def _record_failure(self, message: dict[str, Any], failure: DeliveryFailed) -> None:
        attempts = message["attempts"] + 1
        if failure.temporary and attempts < self.max_attempts:
            self._finish(
                message,
                status="scheduled",
                result=f"temporary failure (attempt {attempts}): {failure}"[:500],
                attempts=attempts,
                next_attempt_at=self.clock() + retry_delay(attempts),
            )
            log.warning("message send failed; will retry", extra={"message_id": message["id"], "attempts": attempts})
            return
        kind = "temporary failures, giving up" if failure.temporary else "permanent failure"
        self._finish(message, status="failed", result=f"{kind} (attempt {attempts}): {failure}"[:500], attempts=attempts)
        log.error("message failed", extra={"message_id": message["id"], "attempts": attempts})

    def _finish(self, message: dict[str, Any], **values: Any) -> None:
        """Record the outcome, unless another dispatcher has taken the claim over meanwhile.

        A message done with (not scheduled again) forgets its secrets, such as a sign-in link.
        """
        if values["status"] != "scheduled" and (kept := without_secrets(message["kind"], message["context"])) is not None:
            values["context"] = kept
        with self.store.begin() as repository:
            repository.finish(message, self.clock(), **values)

    def run(self, stop: threading.Event, idle_interval: float = 0.2) -> None:
        """Dispatch until ``stop`` is set."""
        try:
            while not stop.is_set():
                try:
                    if self.dispatch_due():
                        continue
                except Exception:
                    log.exception("dispatch cycle failed")
                    self.close()
                    stop.wait(2.0)
                stop.wait(idle_interval)
        finally:
            self.close()

