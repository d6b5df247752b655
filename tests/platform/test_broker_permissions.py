"""Topology.declare with a broker user that may configure only its own queue (docker compose's users).

Checked here against a fake AMQP connection; the real RabbitMQ run is deploy/rabbitmq-definitions.json
imported into a broker (see tests/platform/test_deployment_files.py for the definitions themselves).
"""
from __future__ import annotations

import pytest
from amqp.exceptions import AccessRefused, NotFound

from kapbook_platform.messaging.topology import Topology


class Broker:
    """What exists, and which names this user may configure; records every successful declare."""

    def __init__(self, existing: set[str], may_configure: set[str]) -> None:
        self.existing, self.may_configure, self.declared = set(existing), may_configure, []


class FakeChannel:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def _declare(self, name: str, passive: bool) -> None:
        if passive:
            if name not in self.broker.existing:
                raise NotFound(f"no {name}")
            return
        if name not in self.broker.may_configure:
            raise AccessRefused(f"configure {name}")
        self.broker.existing.add(name)
        self.broker.declared.append(name)

    def exchange_declare(self, exchange, type=None, passive=False, **kwargs):
        self._declare(exchange, passive)

    def queue_declare(self, queue="", passive=False, **kwargs):
        self._declare(queue, passive)
        return queue, 0, 0

    def queue_bind(self, queue, exchange, routing_key="", **kwargs):
        if queue not in self.broker.may_configure:
            raise AccessRefused(f"write {queue}")
        self.broker.declared.append(f"{queue}<-{exchange}:{routing_key}")

    def prepare_queue_arguments(self, arguments, **kwargs):
        return arguments

    def close(self):
        pass


class FakeTransport:
    driver_type = "amqp"


class FakeConnection:
    transport = FakeTransport()

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def channel(self):
        return FakeChannel(self.broker)

    @property
    def default_channel(self):
        return FakeChannel(self.broker)


def everything(topology: Topology) -> set[str]:
    return {topology.events_exchange.name, topology.dead_letter_exchange.name, *(q.name for q in topology.all_queues())}


def test_a_service_user_declares_its_own_queue_and_only_checks_what_the_definitions_made():
    topology = Topology(namespace="kapbook", quorum=True)
    broker = Broker(existing=everything(topology) - {"kapbook.reminders"}, may_configure={"kapbook.reminders"})
    topology.declare(FakeConnection(broker))
    assert broker.declared[0] == "kapbook.reminders"
    assert all(item.startswith("kapbook.reminders") for item in broker.declared), broker.declared
    assert {item.rsplit(":", 1)[1] for item in broker.declared[1:]} == {
        "booking.#", "screening.crisis.#", "staff.#", "series.#", "patient.sign_in_link.#", "webhook.#", "waitlist.#", "check_in.alert.#"}


def test_a_missing_object_the_user_may_not_declare_is_an_error_naming_it_and_the_definitions():
    topology = Topology(namespace="kapbook", quorum=True)
    broker = Broker(existing=everything(topology) - {"kapbook.eligibility"}, may_configure={"kapbook.booking"})
    with pytest.raises(RuntimeError, match=r"kapbook\.eligibility.*rabbitmq-definitions\.json"):
        topology.declare(FakeConnection(broker))


def test_an_administrator_declares_everything_as_before():
    topology = Topology(namespace="kapbook", quorum=True)
    broker = Broker(existing=set(), may_configure=everything(topology))
    topology.declare(FakeConnection(broker))
    assert everything(topology) <= set(broker.declared)
