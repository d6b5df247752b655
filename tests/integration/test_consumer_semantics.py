"""The consumer's promises: one effect per event, whatever is redelivered, crashed or malformed."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Producer
from sqlalchemy import func, select

from kapbook_platform.contracts import EventType
from kapbook_platform.runtime import consumer_loop
from kapbook_reminders.adapters import tables as reminders_tables
from support.pipeline import Pipeline, next_weekday_at
from support.waiting import wait_for

pytestmark = pytest.mark.integration
CRASHING_CONSUMER = Path(__file__).parent.parent / "support" / "crashing_consumer.py"


@pytest.fixture
def pipeline(tmp_path, db, broker, database_factory, broker_url, broker_namespace):
    pipeline = Pipeline(tmp_path, database_factory("booking"), database_factory("reminders"), broker_url, broker_namespace)
    yield pipeline
    pipeline.close()


def count(pipeline: Pipeline, table, *where) -> int:
    with pipeline.reminders.runtime.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def confirmations(pipeline: Pipeline) -> int:
    return count(pipeline, reminders_tables.messages, reminders_tables.messages.c.kind == "confirmation")


def booking_envelope(pipeline: Pipeline, hour: int = 10) -> dict:
    """Book through the API and return the event the booking service wrote to its outbox."""
    assert pipeline.book(next_weekday_at(hour)).status_code == 201
    outbox = pipeline.booking.runtime.tables["outbox"]
    with pipeline.booking.runtime.engine.connect() as connection:
        return connection.execute(select(outbox.c.envelope).order_by(outbox.c.created_at.desc())).scalars().first()


def publish_raw(pipeline: Pipeline, body, routing_key: str = "booking.created.v1", serializer: str | None = "json") -> None:
    topology = pipeline.reminders.runtime.topology
    with pipeline.reminders.runtime.broker_connection() as connection:
        topology.declare(connection)
        producer = Producer(connection.default_channel)
        kwargs = {"serializer": serializer} if serializer else {"content_type": "text/plain", "content_encoding": "utf-8"}
        producer.publish(body, exchange=topology.events_exchange, routing_key=routing_key, **kwargs)


def test_consumer_killed_mid_handler_redelivers_with_exactly_one_effect(pipeline):
    pipeline.start(consumer=False, dispatcher=False)
    config = pipeline.reminders.config
    pipeline.book(next_weekday_at(10))
    crashed = subprocess.run(
        [sys.executable, str(CRASHING_CONSUMER), pipeline.reminders_db, config.broker_url, config.broker_namespace,
         str(pipeline.tmp)],
        timeout=60,
        capture_output=True,
    )
    assert crashed.returncode == 17, crashed.stderr.decode()[-2000:]
    assert confirmations(pipeline) == 0, "the crashed handler's work must not have committed"

    pipeline.spawn(consumer_loop(pipeline.reminders.runtime, pipeline.reminders.handlers))

    wait_for(lambda: confirmations(pipeline) == 1, timeout=15)
    time.sleep(0.5)
    assert confirmations(pipeline) == 1
    assert count(pipeline, pipeline.reminders.runtime.tables["inbox"]) == 1


def test_the_same_event_delivered_twice_has_one_effect(pipeline):
    envelope = booking_envelope(pipeline)
    pipeline.start(relay=False)

    publish_raw(pipeline, envelope)
    publish_raw(pipeline, envelope)

    wait_for(lambda: pipeline.mail.to("pat@example.org"), timeout=10)
    time.sleep(1.0)
    assert len(pipeline.mail.to("pat@example.org")) == 1
    assert confirmations(pipeline) == 1


def test_malformed_events_are_dead_lettered_and_the_next_good_event_is_processed(pipeline):
    envelope = booking_envelope(pipeline)
    broken = dict(envelope, id="broken-1", data={**envelope["data"], "start": "not a time"})
    pipeline.start(relay=False)

    publish_raw(pipeline, broken)
    publish_raw(pipeline, "this is not json {", serializer=None)
    publish_raw(pipeline, {"hello": "world"})
    publish_raw(pipeline, envelope)

    wait_for(lambda: confirmations(pipeline) == 1, timeout=10)
    dead = pipeline.reminders.runtime.tables["dead_letters"]
    wait_for(lambda: count(pipeline, dead) == 3, timeout=10)
    with pipeline.reminders.runtime.broker_connection() as connection:
        queue = pipeline.reminders.runtime.topology.dead_letter_queue(connection.default_channel)
        parked = [queue.get(accept=["json"]) for _ in range(3)]
    assert all(message is not None for message in parked), "each dead letter must also be in the broker's queue"
    assert {m.headers["x-kapbook-consumer"] for m in parked} == {"reminders"}


def test_a_handler_that_keeps_failing_ends_in_dead_letters_and_the_consumer_goes_on(pipeline):
    envelope = booking_envelope(pipeline)
    handlers = pipeline.reminders.handlers
    attempts = []

    def always_fails(session, event):
        attempts.append(event.id)
        raise RuntimeError("boom")

    handlers[EventType.BOOKING_CANCELLED] = always_fails
    pipeline.spawn(consumer_loop(pipeline.reminders.runtime, handlers))
    pipeline.mail.start()

    publish_raw(pipeline, dict(envelope, id="cancel-1", type=EventType.BOOKING_CANCELLED,
                               data={**envelope["data"], "status": "cancelled"}), routing_key="booking.cancelled.v1")
    publish_raw(pipeline, envelope)

    wait_for(lambda: confirmations(pipeline) == 1, timeout=15)
    dead = pipeline.reminders.runtime.tables["dead_letters"]
    wait_for(lambda: count(pipeline, dead) == 1, timeout=10)
    assert attempts == ["cancel-1"] * 3
    assert count(pipeline, pipeline.reminders.runtime.tables["inbox"]) == 1, "the failed event is not marked handled"
