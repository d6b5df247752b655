"""The transactional outbox and its relay.

A use case calls ``Outbox.add`` inside its own transaction, so the event row commits or rolls
back with the change. The relay publishes pending rows and marks them published; if it crashes
between the two, the row is published again and the consumers' inbox absorbs the duplicate.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kombu import Connection
from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.orm import Session

from kapbook_platform.clock import utc_now
from kapbook_platform.contracts import Envelope, make_envelope
from kapbook_platform.logs import current_correlation_id
from kapbook_platform.messaging.topology import Topology
from kapbook_platform.messaging.wakeup import Listener, Wakeup

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """Publishing failed; the events stay pending and are retried."""

PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


class Outbox:
    """Adds validated events to a service's outbox table, inside the caller's transaction."""

    def __init__(self, table: Table, source: str, wakeup: Wakeup | None = None) -> None:
        self.table = table
        self.source = source
        self.wakeup = wakeup
        self._listeners: list[Callable[[Session, Envelope], None]] = []

    def on_add(self, listener: Callable[[Session, Envelope], None]) -> None:
        """Call ``listener(session, envelope)`` after each event is added, in the same transaction
        (the booking service writes its webhook deliveries this way)."""
        self._listeners.append(listener)

    def add(self, session: Session, event_type: str, data: dict[str, Any]) -> Envelope:
        envelope = make_envelope(event_type, self.source, data, correlation_id=current_correlation_id())
        session.execute(
            self.table.insert().values(
                id=envelope.id,
                type=envelope.type,
                routing_key=envelope.routing_key,
                envelope=envelope.to_json_dict(),
                created_at=envelope.time,
                attempts=0,
            )
        )
        for listener in self._listeners:
            listener(session, envelope)
        if self.wakeup is not None:
            self.wakeup.signal(session)  # the relay publishes as soon as this commits
        return envelope


def _wait_for_wakeup(listener: Listener, stop: threading.Event, timeout: float, slice_seconds: float = 0.25) -> None:
    """Wait until a commit wakes ``listener``, ``timeout`` passes, or ``stop`` is set (checked
    between slices, so stopping never waits a long poll out)."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0 or listener.wait(min(remaining, slice_seconds)):
            return


class OutboxRelay:
    """Publishes pending outbox rows in order and marks them published."""

    def __init__(self, engine: Engine, table: Table, connection: Connection, topology: Topology,
                 wakeup: Wakeup | None = None) -> None:
        self.engine = engine
        self.table = table
        self.connection = connection
        self.topology = topology
        self.wakeup = wakeup
        self._declared = False

    def publish_pending(self, batch_size: int = 100) -> int:
        """Publish up to ``batch_size`` pending events; returns how many were published."""
        failure: Exception | None = None
        with self.engine.begin() as connection:
            rows = connection.execute(self._pending_query(batch_size)).all()
            published = []
            for row in rows:
                try:
                    self._publish(row.envelope, row.routing_key, row.id)
                except Exception as error:  # broker down: keep the row pending, record why
                    failure = error
                    self._record_failure(connection, row.id, error)
                    break
                published.append(row.id)
            if published:
                connection.execute(
                    update(self.table)
                    .where(self.table.c.id.in_(published))
                    .values(published_at=utc_now(), attempts=self.table.c.attempts + 1)
                )
        if failure is not None:
            raise BrokerUnavailable(str(failure)) from failure
        return len(published)

    def _pending_query(self, batch_size: int):
        query = (
            select(self.table.c.id, self.table.c.routing_key, self.table.c.envelope)
            .where(self.table.c.published_at.is_(None))
            .order_by(self.table.c.created_at, self.table.c.id)
            .limit(batch_size)
        )
        # Several relays may run; each takes rows the others have not locked.
        return query.with_for_update(skip_locked=True) if self.engine.dialect.name == "postgresql" else query

    def _publish(self, envelope: dict, routing_key: str, event_id: str) -> None:
        if not self._declared:
            self.topology.declare(self.connection)
            self._declared = True
        producer = self.connection.Producer(serializer="json")
        producer.publish(
            envelope,
            exchange=self.topology.events_exchange,
            routing_key=routing_key,
            delivery_mode=2,
            message_id=event_id,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )

    def _record_failure(self, connection, event_id: str, error: Exception) -> None:
        log.warning("outbox publish failed; will retry", extra={"event_id": event_id, "error": repr(error)})
        self._declared = False
        connection.execute(
            update(self.table)
            .where(self.table.c.id == event_id)
            .values(attempts=self.table.c.attempts + 1, last_error=repr(error)[:500])
        )
        self._reset_connection()

    def _reset_connection(self) -> None:
        try:
            self.connection.close()
        except Exception:  # closing a dead connection may itself fail; a fresh one follows
            log.debug("closing broken broker connection failed", exc_info=True)
        self.connection = self.connection.clone()

    def run(self, stop: threading.Event, idle_interval: float = 0.05, max_backoff: float = 5.0) -> None:
        """Relay until ``stop`` is set: at once when a commit wakes it, else every ``idle_interval``
        (the fallback poll); backing off while the broker or database is unavailable."""
        listener = self.wakeup.listener() if self.wakeup is not None else None
        backoff = idle_interval
        try:
            while not stop.is_set():
                try:
                    published = self.publish_pending()
                    backoff = idle_interval
                    if published:
                        continue
                except BrokerUnavailable:
                    backoff = min(max_backoff, backoff * 2)
                except Exception:
                    log.exception("outbox relay cycle failed")
                    backoff = min(max_backoff, backoff * 2 or idle_interval)
                if listener is not None and backoff == idle_interval:
                    _wait_for_wakeup(listener, stop, idle_interval)
                else:
                    stop.wait(backoff)
        finally:
            if listener is not None:
                listener.close()

    def pending_count(self) -> int:
        with self.engine.connect() as connection:
            query = select(func.count()).select_from(self.table).where(self.table.c.published_at.is_(None))
            return connection.execute(query).scalar_one()
