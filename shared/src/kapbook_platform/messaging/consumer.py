"""An idempotent event consumer on kombu's ConsumerMixin.

For each message, an explicit choice:

* not a valid Kapbook event (bad JSON, fails its schema) -> dead-letter at once, ack;
* already in this service's inbox -> ack, no effect;
* handled -> inbox row and the handler's changes commit in one transaction, then ack;
* database unavailable -> hold the message and wait for the database (not the event's fault, never
  counted as a failure); after DATABASE_WAIT_SECONDS requeue it, so a long outage costs a delivery
  attempt only every so often and the broker connection stays healthy;
* handler keeps failing -> retried a bounded number of times, then dead-lettered; the consumer goes on.

Dead-lettering publishes the message to the dead-letter exchange (visible in the broker) and
records it in the service's ``dead_letters`` table (visible to staff).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from kombu import Connection, Message
from kombu.mixins import ConsumerMixin
from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session, sessionmaker

from kapbook_platform.clock import utc_now
from kapbook_platform.contracts import Envelope, InvalidEvent, parse_envelope
from kapbook_platform.database import is_database_unavailable
from kapbook_platform.logs import reset_correlation_id, set_correlation_id
from kapbook_platform.messaging.topology import Topology

log = logging.getLogger(__name__)

EventHandler = Callable[[Session, Envelope], None]
HANDLER_ATTEMPTS = 3
RETRY_BASE_DELAY = 0.2
# How long one message is held while the database is down; below the AMQP heartbeat (30 s x 2).
DATABASE_WAIT_SECONDS = 25.0


class EventConsumer(ConsumerMixin):
    """Consumes one service's queue and dispatches events to handlers by type."""

    def __init__(
        self,
        connection: Connection,
        topology: Topology,
        service: str,
        sessions: sessionmaker[Session],
        tables: Mapping[str, Table],
        handlers: Mapping[str, EventHandler],
        attempts: int = HANDLER_ATTEMPTS,
        database_wait: float = DATABASE_WAIT_SECONDS,
    ) -> None:
        self.connection = connection
        self.topology = topology
        self.service = service
        self.sessions = sessions
        self.inbox = tables["inbox"]
        self.dead_letters = tables["dead_letters"]
        self.handlers = dict(handlers)
        self.attempts = attempts
        self.database_wait = database_wait

    def get_consumers(self, Consumer, channel):
        self.topology.declare(self.connection)
        # On RabbitMQ the consumer's own declare of its queue must not redeclare the exchange: declare()
        # made sure it exists, and this service's broker user may configure only its own queue.
        queue = self.topology.service_queue(self.service, declare_exchange=self.connection.transport.driver_type != "amqp")
        # prefetch 1: a crash leaves at most one message in flight, and it is redelivered.
        consumer = Consumer(queues=[queue], callbacks=[self.on_message], accept=["json"], prefetch_count=1)
        consumer.on_decode_error = self.on_decode_error
        return [consumer]

    def on_decode_error(self, message: Message, error: Exception) -> None:
        """Not JSON, or a content type we never accept (pickle): straight to the dead letters."""
        raw = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else str(message.body)
        self.dead_letter(message, raw, f"undecodable message ({message.content_type}): {error}")

    def on_message(self, body: Any, message: Message) -> None:
        try:
            envelope = parse_envelope(body)
        except InvalidEvent as error:
            self.dead_letter(message, body, f"invalid event: {error.errors}")
            return
        token = set_correlation_id(envelope.correlationid)
        try:
            self._handle_with_retries(envelope, message, body)
        finally:
            reset_correlation_id(token)

    def _handle_with_retries(self, envelope: Envelope, message: Message, body: Any) -> None:
        attempt = 0
        wait_until = time.monotonic() + self.database_wait
        while attempt < self.attempts:
            try:
                self.handle(envelope)
            except Exception as error:
                if is_database_unavailable(error):
                    if self._database_back_before(wait_until, envelope):
                        continue
                    log.warning("database still unavailable; event requeued", extra={"event_id": envelope.id})
                    message.requeue()
                    return
                attempt += 1
                log.warning(
                    "event handler failed",
                    extra={"event_id": envelope.id, "event_type": envelope.type, "attempt": attempt, "error": repr(error)},
                )
                if attempt == self.attempts:
                    self.dead_letter(message, body, f"handler failed {attempt} times: {error!r}", envelope)
                    return
                time.sleep(RETRY_BASE_DELAY * 2 ** (attempt - 1))
            else:
                message.ack()
                return

    def _database_back_before(self, deadline: float, envelope: Envelope) -> bool:
        """Wait (backing off) until the database answers again, or ``deadline`` passes."""
        log.warning("database unavailable; holding the event until it is back", extra={"event_id": envelope.id})
        delay = 0.2
        while time.monotonic() < deadline and not self.should_stop:
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 3.0)
            try:
                with self.sessions() as session:
                    session.execute(select(1))
                return True
            except Exception:  # still down (or flapping): keep waiting until the deadline
                continue
        return False

    def handle(self, envelope: Envelope) -> bool:
        """Apply the event once: returns False if it had been handled before."""
        with self.sessions.begin() as session:
            seen = session.execute(select(self.inbox.c.event_id).where(self.inbox.c.event_id == envelope.id)).first()
            if seen:
                return False
            session.execute(
                self.inbox.insert().values(event_id=envelope.id, type=envelope.type, handled_at=utc_now())
            )
            handler = self.handlers.get(envelope.type)
            if handler is not None:
                handler(session, envelope)
        log.info("event handled", extra={"event_id": envelope.id, "event_type": envelope.type})
        return True

    def dead_letter(self, message: Message, body: Any, reason: str, envelope: Envelope | None = None) -> None:
        """Park the message where people can see it, then ack it so the queue moves on."""
        text = body if isinstance(body, str) else json.dumps(body, default=str)
        with self.sessions.begin() as session:
            session.execute(
                self.dead_letters.insert().values(
                    event_id=envelope.id if envelope else None,
                    type=envelope.type if envelope else None,
                    reason=reason[:2000],
                    body=text,
                    dead_at=utc_now(),
                )
            )
        producer = self.connection.Producer(serializer="json")
        producer.publish(
            body if isinstance(body, dict) else {"raw": text},
            exchange=self.topology.dead_letter_exchange,
            routing_key=f"{self.service}.{envelope.routing_key if envelope else 'invalid'}",
            headers={"x-kapbook-reason": reason[:500], "x-kapbook-consumer": self.service},
            retry=True,
        )
        log.error("event dead-lettered", extra={"event_id": envelope.id if envelope else None, "reason": reason[:300]})
        message.ack()


def dead_letter_rows(engine: Engine, table: Table, limit: int = 100) -> list[dict]:
    """The most recent dead letters of a service, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.id.desc()).limit(limit)).mappings().all()
    return [dict(row) for row in rows]
