"""While the database is down: 503 with Retry-After for clients, patience for consumers."""
from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.contracts import EventType, make_envelope
from kapbook_platform.database import is_database_unavailable
from kapbook_platform.messaging.consumer import EventConsumer
from kapbook_platform.messaging.tables import dead_letter_table, inbox_table
from support.servers import free_port

pytestmark = pytest.mark.integration  # a real SQLite database / HTTP servers on loopback

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere?connect_timeout=2"


def dbapi_error(orig: Exception, invalidated: bool = False) -> DBAPIError:
    return DBAPIError.instance("SELECT 1", {}, orig, Exception, connection_invalidated=invalidated)


class StateError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("orig", "unavailable"), [
    (StateError("08006"), True),   # connection failure
    (StateError("57P01"), True),   # admin shutdown
    (StateError("57P03"), True),   # the server is starting up
    (StateError("40P01"), False),  # deadlock: retried by the unit of work, not an outage
    (StateError("23505"), False),  # unique violation: the request's problem
])
def test_sqlstates_that_mean_the_database_is_away(orig, unavailable):
    assert is_database_unavailable(dbapi_error(orig)) is unavailable


def test_sqlite_busy_is_an_outage_but_a_missing_table_is_a_bug():
    engine = create_engine("sqlite://")
    with pytest.raises(OperationalError) as missing, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert not is_database_unavailable(missing.value)
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"
    assert is_database_unavailable(dbapi_error(busy))


def test_a_server_that_refuses_connections_is_unavailable():
    engine = create_engine(UNREACHABLE.format(port=free_port()))
    with pytest.raises(OperationalError) as refused, engine.connect():
        pass
    assert is_database_unavailable(refused.value)
    assert is_database_unavailable(dbapi_error(StateError("XX000"), invalidated=True))


def test_http_clients_get_503_with_retry_after_when_the_database_is_down(tmp_path):
    config = BookingConfig(database_url=UNREACHABLE.format(port=free_port()), env="test", var_dir=tmp_path)
    client = create_app(bootstrap(config)).test_client()
    response = client.get("/api/booking/v1/catalog")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json["code"] == "service_unavailable"
    assert set(response.json) == {"code", "message"}


class FakeMessage:
    def __init__(self) -> None:
        self.acked = self.requeued = False

    def ack(self) -> None:
        self.acked = True

    def requeue(self) -> None:
        self.requeued = True


def consumer(sessions, handler, database_wait: float) -> EventConsumer:
    from sqlalchemy import MetaData

    metadata = MetaData()
    tables = {"inbox": inbox_table(metadata), "dead_letters": dead_letter_table(metadata)}
    metadata.create_all(sessions.kw["bind"])
    return EventConsumer(SimpleNamespace(), SimpleNamespace(), "test", sessions, tables,
                         {EventType.STAFF_CREDENTIAL_REVOKED: handler}, database_wait=database_wait)


def staff_event() -> dict:
    return make_envelope(EventType.STAFF_CREDENTIAL_REVOKED, "/test", {"credential_id": "c1", "revoked_at": "2026-11-21T10:00:00+00:00"}).to_json_dict()


def test_a_consumer_holds_the_event_while_the_database_is_down_and_handles_it_once_it_is_back(tmp_path):
    sessions = sessionmaker(bind=create_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    calls = []

    def flaky_handler(session, envelope):
        calls.append(envelope.id)
        if len(calls) <= 2:
            raise dbapi_error(StateError("57P01"))

    message = FakeMessage()
    consumer(sessions, flaky_handler, database_wait=10).on_message(staff_event(), message)
    assert len(calls) == 3 and message.acked and not message.requeued


def test_a_long_outage_requeues_the_event_without_counting_it_as_a_failure(tmp_path):
    down = sessionmaker(bind=create_engine(UNREACHABLE.format(port=free_port())))
    events = consumer(sessionmaker(bind=create_engine(f"sqlite:///{tmp_path / 'c.db'}")), lambda *_: None, 0.5)
    events.sessions = down  # the database goes away after the tables were made
    message = FakeMessage()
    events.on_message(staff_event(), message)
    assert message.requeued and not message.acked
