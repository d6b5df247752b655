"""Wake a waiting worker when a transaction commits new work for it, instead of letting it poll.

The outbox relay waits for "an event was committed" rather than sleeping between polls; the poll
stays as the fallback (a lost wake-up costs one poll interval, never an event).

* PostgreSQL: the writing transaction runs ``pg_notify(channel)``; PostgreSQL delivers it to every
  listener when (and only if) the transaction commits, across processes and machines, and folds
  repeated notifications of one transaction into one. The waiting side LISTENs on its own
  autocommit connection.
* SQLite (one machine by nature): after the commit, the writer sends one datagram to a Linux
  abstract Unix socket named after the database and the channel; the waiting side binds it. Other
  processes of the same service (web, worker) reach it too. A second waiter cannot bind the name
  and simply polls.
"""
from __future__ import annotations

import hashlib
import logging
import select
import socket
import sys
from typing import Protocol

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
SIGNALLED = "kapbook_wakeups"  # session.info key: the channels this transaction already signals


class Listener(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until woken or ``timeout`` seconds pass; whether it was woken."""

    def close(self) -> None: ...


class Wakeup(Protocol):
    def signal(self, session: Session) -> None:
        """Wake the listeners once ``session``'s transaction commits (nothing if it rolls back)."""

    def listener(self) -> Listener:
        """A listener for this channel; one that cannot listen only sleeps (the caller then polls)."""


def wakeup_for(engine: Engine, channel: str) -> Wakeup:
    """The wake-up that suits the engine's database (see the module docstring)."""
    if engine.dialect.name == "postgresql":
        return PostgresWakeup(engine, channel)
    return LocalWakeup(f"{engine.url.render_as_string(hide_password=True)}|{channel}")


def _first_in_transaction(session: Session, channel: str) -> bool:
    """Whether this is the first signal of ``channel`` in the session's current (outermost) transaction."""
    root = session.get_transaction()
    owner, signalled = session.info.get(SIGNALLED, (None, set()))
    if owner is not root:
        signalled = set()
        session.info[SIGNALLED] = (root, signalled)
    if channel in signalled:
        return False
    signalled.add(channel)
    return True


class PostgresWakeup:
    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = "kapbook_" + hashlib.sha256(channel.encode()).hexdigest()[:40]  # a safe identifier

    def signal(self, session: Session) -> None:
        if _first_in_transaction(session, self.channel):
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": self.channel})

    def listener(self) -> Listener:
        try:
            return _PostgresListener(self.engine, self.channel)
        except Exception as error:  # no LISTEN connection: poll
            log.warning("cannot LISTEN for outbox wake-ups; polling only", extra={"error": repr(error)})
            return _Sleeper()


class _PostgresListener:
    def __init__(self, engine: Engine, channel: str) -> None:
        import psycopg

        url = engine.url.set(drivername="postgresql")
        self._connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5)
        self._connection.execute(f'LISTEN "{channel}"')
        self._broken = False

    def wait(self, timeout: float) -> bool:
        if self._broken:
            return _Sleeper().wait(timeout)
        try:
            return any(True for _ in self._connection.notifies(timeout=timeout, stop_after=1))
        except Exception as error:  # the connection broke: poll from now on (a restart listens again)
            log.warning("outbox wake-up connection lost; polling only", extra={"error": repr(error)})
            self._broken = True
            return False

    def close(self) -> None:
        try:
            self._connection.close()
        except Exception:
            log.debug("closing the wake-up connection failed", exc_info=True)


class LocalWakeup:
    def __init__(self, name: str) -> None:
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        self.address = f"\0kapbook-wakeup-{digest}"  # Linux's abstract namespace: no file, no cleanup

    def signal(self, session: Session) -> None:
        if _first_in_transaction(session, self.address):
            event.listen(session, "after_commit", self._after_commit, once=True)

    def _after_commit(self, _session: Session) -> None:
        if not sys.platform.startswith("linux"):
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
                sender.setblocking(False)
                sender.sendto(b"!", self.address)
        except OSError:
            pass  # nobody listening (or its buffer is full: it is awake anyway)

    def listener(self) -> Listener:
        if not sys.platform.startswith("linux"):
            return _Sleeper()
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            receiver.bind(self.address)
        except OSError:  # another relay of this database listens already: this one polls
            receiver.close()
            return _Sleeper()
        receiver.setblocking(False)
        return _SocketListener(receiver)


class _SocketListener:
    def __init__(self, receiver: socket.socket) -> None:
        self._receiver = receiver

    def wait(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._receiver], [], [], timeout)
        if not ready:
            return False
        try:
            while True:  # drain: one wake-up covers every commit so far
                self._receiver.recv(64)
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        self._receiver.close()


class _Sleeper:
    """A listener that can only wait out the timeout."""

    def wait(self, timeout: float) -> bool:
        select.select([], [], [], timeout)
        return False

    def close(self) -> None:
        pass
