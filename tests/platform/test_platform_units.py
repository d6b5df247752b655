"""The platform's own rules: config, envelopes, topology, the filesystem transport."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kapbook_booking.config import BookingConfig
from kapbook_eligibility.config import EligibilityConfig
from kapbook_platform.config import ConfigError
from kapbook_platform.contracts import EventType, InvalidEvent, make_envelope, parse_envelope
from kapbook_platform.messaging.topology import Topology
from kapbook_platform.messaging.transport import open_connection, topology_for
from kapbook_reminders.config import RemindersConfig
from support.production import production_environment

PRODUCTION = {"KAPBOOK_ENV": "production", "KAPBOOK_BROKER_URL": "amqp://u:p@rabbit//"}


def test_production_refuses_to_start_on_default_secrets():
    with pytest.raises(ConfigError, match="BOOKING_SECRET_KEY"):
        BookingConfig.from_env(PRODUCTION | {"KAPBOOK_SERVICE_TOKEN": "a-real-token-0123456789abcdefghijkl"})
    with pytest.raises(ConfigError, match="KAPBOOK_SERVICE_TOKEN"):
        BookingConfig.from_env(PRODUCTION | {"BOOKING_SECRET_KEY": "a-real-secret-0123456789abcdefghijk"})
    with pytest.raises(ConfigError, match="ELIGIBILITY_ENCRYPTION_KEYS"):
        EligibilityConfig.from_env({k: v for k, v in production_environment("eligibility").items()
                                    if k != "ELIGIBILITY_ENCRYPTION_KEYS"})


def test_production_refuses_the_embedded_broker():
    env = production_environment("booking")
    del env["KAPBOOK_BROKER_URL"]
    with pytest.raises(ConfigError, match="RabbitMQ"):
        BookingConfig.from_env(env)
    assert BookingConfig.from_env(env | {"KAPBOOK_BROKER_URL": "amqp://u:p@rabbit//"}).is_production


def test_config_values_are_typed_and_bad_ones_are_named():
    config = RemindersConfig.from_env({"SMTP_PORT": "2525", "DISPATCH_INTERVAL": "0.5"})
    assert config.smtp_port == 2525 and config.dispatch_interval == 0.5
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        RemindersConfig.from_env({"SMTP_PORT": "twenty"})
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        RemindersConfig.from_env({"SMTP_SECURITY": "ssl3"})


def revoked(**overrides) -> dict:
    return {"credential_id": "c1", "revoked_at": "2026-01-01T00:00:00+00:00"} | overrides


def test_envelope_round_trips_with_cloudevents_attributes():
    envelope = make_envelope(EventType.STAFF_CREDENTIAL_REVOKED, "/kapbook/booking", revoked(), correlation_id="abc")
    body = json.loads(json.dumps(envelope.to_json_dict()))
    assert {"specversion", "id", "source", "type", "time", "datacontenttype", "data"} <= set(body)
    assert parse_envelope(body) == envelope
    assert envelope.routing_key == "staff.credential_revoked.v1"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b | {"specversion": "0.3"},
        lambda b: b | {"type": "kapbook.unknown.v1"},
        lambda b: b | {"data": revoked(revoked_at="yesterday")},
        lambda b: b | {"data": revoked(extra="field")},
        lambda b: {k: v for k, v in b.items() if k != "id"},
        lambda b: b | {"time": "2026-01-01T00:00:00"},
    ],
)
def test_invalid_envelopes_are_refused(mutate):
    body = make_envelope(EventType.STAFF_CREDENTIAL_REVOKED, "/kapbook/booking", revoked()).to_json_dict()
    with pytest.raises(InvalidEvent):
        parse_envelope(mutate(body))


def test_publishing_an_invalid_payload_fails_before_it_reaches_the_outbox():
    with pytest.raises(InvalidEvent):
        make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {"screening_id": "s1"})


def test_rabbitmq_queues_are_quorum_queues_with_a_dead_letter_exchange_and_a_delivery_limit():
    topology = topology_for("amqp://guest:guest@localhost//", "kapbook")
    arguments = topology.service_queue("reminders").queue_arguments
    assert arguments["x-queue-type"] == "quorum"
    assert arguments["x-dead-letter-exchange"] == "kapbook.dead-letter"
    assert arguments["x-delivery-limit"] > 0
    assert topology_for("filesystem:///tmp/x", "kapbook").service_queue("reminders").queue_arguments == {}


def test_reminders_queue_binds_booking_and_crisis_events():
    keys = {b.routing_key for b in Topology().service_queue("reminders").bindings}
    assert {"booking.#", "screening.crisis.#"} <= keys


def test_filesystem_transport_never_exposes_a_partly_written_message(tmp_path: Path):
    url = f"filesystem://{tmp_path}"
    topology = topology_for(url, "t")
    with open_connection(url) as connection:
        topology.declare(connection)
        connection.Producer().publish({"n": 1}, exchange=topology.events_exchange, routing_key="booking.created.v1",
                                      serializer="json")
    names = os.listdir(tmp_path / "queue")
    assert len(names) == 1 and names[0].endswith(".t.reminders.msg"), names
    assert not any(name.startswith(".") for name in names), "temporary files must be renamed into place"


def test_filesystem_messages_of_a_dead_consumer_return_to_the_queue(tmp_path: Path):
    url = f"filesystem://{tmp_path}"
    topology = topology_for(url, "t")
    with open_connection(url) as connection:
        topology.declare(connection)
        connection.Producer().publish({"n": 1}, exchange=topology.events_exchange, routing_key="booking.created.v1",
                                      serializer="json")
    take_and_die = (
        "import os, sys; from kapbook_platform.messaging.transport import open_connection, topology_for;"
        f"t = topology_for({url!r}, 't'); c = open_connection({url!r});"
        "m = t.service_queue('reminders')(c.default_channel).get(accept=['json']);"
        "assert m is not None; os._exit(9)"
    )
    assert subprocess.run([sys.executable, "-c", take_and_die], timeout=60).returncode == 9
    assert os.listdir(tmp_path / "queue") == [], "the message was taken (and is in flight)"

    with open_connection(url) as connection:
        message = topology.service_queue("reminders")(connection.default_channel).get(accept=["json"])
        assert message is not None and message.payload == {"n": 1}
        message.ack()


def test_threads_declaring_and_publishing_at_once_never_lose_a_message(tmp_path: Path):
    """kombu's shared binding state let a publisher skip writing a binding another thread had
    recorded but not yet written, and its message routed nowhere."""
    import threading

    url = f"filesystem://{tmp_path}"
    for round_number in range(20):
        topology = topology_for(url, f"race{round_number}")
        start = threading.Barrier(2)

        def declare() -> None:
            with open_connection(url) as connection:
                start.wait()
                topology.declare(connection)

        def publish() -> None:
            with open_connection(url) as connection:
                start.wait()
                topology.declare(connection)
                connection.Producer().publish({"n": round_number}, exchange=topology.events_exchange,
                                              routing_key="booking.created.v1", serializer="json")

        threads = [threading.Thread(target=declare), threading.Thread(target=publish)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with open_connection(url) as connection:
            message = topology.service_queue("reminders")(connection.default_channel).get(accept=["json"])
            assert message is not None, f"round {round_number}: the message was routed nowhere"
            message.ack()
