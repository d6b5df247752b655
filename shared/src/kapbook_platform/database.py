"""SQLAlchemy engines that behave the same on SQLite and PostgreSQL where it matters."""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from datetime import datetime, timezone

from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_db_engine(url: str, **kwargs) -> Engine:
    """Create an engine; on SQLite every transaction begins IMMEDIATE so check-then-insert is atomic.

    Every engine hides bound parameters: without it a failed statement's error text (and SQLAlchemy's
    statement logging) carries the values, such as a patient's name and email, into logs.
    """
    kwargs["hide_parameters"] = True
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _sqlite_engine(url: str, **kwargs) -> Engine:
    database = url.split("///", 1)[-1]
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A deferred transaction that later writes fails at once under contention (SQLITE_BUSY);
        # IMMEDIATE takes the write lock up front and waits for it within busy_timeout.
        mode = "DEFERRED" if connection.get_execution_options().get("sqlite_read_only") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine for queries that never write (no write lock taken on SQLite)."""
    return engine.execution_options(sqlite_read_only=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory.begin() as session:
        yield session


RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def is_retryable(error: BaseException) -> bool:
    """A transaction PostgreSQL aborted only because of concurrency: running it again can succeed."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


# SQLSTATE classes of a server that cannot be reached or is shutting down or starting up.
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57P")


def is_database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or went away (not the statement's fault): try again later."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    sqlite_error = getattr(original, "sqlite_errorname", None)
    if sqlite_error is not None:
        return sqlite_error.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(UNAVAILABLE_SQLSTATE_PREFIXES)
    # psycopg gives no SQLSTATE when it could not connect at all.
    return isinstance(error, OperationalError)


def retry_on_conflict(unit_of_work: Callable[[], T], attempts: int = 5) -> T:
    """Run ``unit_of_work`` (which opens its own transaction) again after a deadlock or serialization failure."""
    for attempt in range(1, attempts + 1):
        try:
            return unit_of_work()
        except DBAPIError as error:
            if not is_retryable(error) or attempt == attempts:
                raise
            time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


def ping(engine: Engine) -> None:
    """Raise unless the database answers."""
    with read_only(engine).connect() as connection:
        connection.execute(text("SELECT 1"))


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no offset) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        value = value.astimezone(timezone.utc)
        # SQLite compares datetimes as text: store one fixed UTC format without offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
