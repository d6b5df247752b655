"""Fixtures for the eligibility service's integration tests: the real app on a real database and broker.

Every test that takes ``db`` runs on SQLite and, when KAPBOOK_TEST_POSTGRES_URL is set, on
PostgreSQL; tests that take ``broker`` also run on RabbitMQ when KAPBOOK_TEST_AMQP_URL is set.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from kapbook_eligibility.bootstrap import EligibilityContainer, bootstrap
from kapbook_eligibility.config import EligibilityConfig
from kapbook_eligibility.entrypoints.app import create_app
from kapbook_platform.staff.tokens import new_staff_token, token_digest
from support.clock import TravellingClock
from support.marks import mark_folder_integration
from support.screening_answers import CRISIS_CHANGES, eligible_answers
from support.waiting import wait_for

PUBLIC_URL = "https://clinic.example"
START = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)
SCREENINGS = "/api/eligibility/v1/screenings"


@dataclass(frozen=True)
class Staff:
    staff_id: str
    name: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def answers() -> dict[str, Any]:
    """A fresh eligible answer set that a test may change freely."""
    return eligible_answers()


@pytest.fixture
def fernet_keys() -> tuple[str, ...]:
    return (Fernet.generate_key().decode(),)


@pytest.fixture
def make_container(db, tmp_path, database_factory, broker_url, broker_namespace, fernet_keys) -> Iterator[Callable[..., EligibilityContainer]]:
    """make(**config) -> a container on this test's database; several may share it (e.g. with other keys).

    Taking ``db`` runs every test that uses the service once per available database backend.
    """
    database_url = database_factory("eligibility")
    built: list[EligibilityContainer] = []

    def make(**overrides: Any) -> EligibilityContainer:
        settings = {
            "database_url": database_url,
            "broker_url": broker_url,
            "broker_namespace": broker_namespace,
            "var_dir": tmp_path,
            "env": "test",
            "public_base_url": PUBLIC_URL,
            "encryption_keys": fernet_keys,
        } | overrides
        container = bootstrap(EligibilityConfig.from_env({}, **settings), clock=TravellingClock(START, tick=timedelta(seconds=1)))
        built.append(container)
        return container

    yield make
    for container in built:
        container.runtime.engine.dispose()


@pytest.fixture
def eligibility(make_container) -> EligibilityContainer:
    container = make_container()
    container.migrate()
    return container


@pytest.fixture
def client(eligibility):
    return create_app(eligibility).test_client()


@pytest.fixture
def make_staff(eligibility) -> Callable[..., Staff]:
    """make_staff(role) -> a staff member with a bearer token, projected as the booking service's event would
    (``credential_id="console-<id>"``: a console session's delegate)."""

    def make(role: str, name: str | None = None, credential_id: str | None = None) -> Staff:
        staff = Staff(str(uuid.uuid4()), name or f"Test {role.replace('_', ' ')}", role, new_staff_token())
        table = eligibility.runtime.tables["staff_credentials"]
        with eligibility.runtime.sessions.begin() as session:
            session.execute(
                table.insert().values(
                    credential_id=credential_id or str(uuid.uuid4()),
                    staff_id=staff.staff_id,
                    staff_name=staff.name,
                    role=role,
                    token_sha256=token_digest(staff.token),
                    issued_at=datetime.now(timezone.utc),
                )
            )
        return staff

    return make


@pytest.fixture
def clinician(make_staff) -> Staff:
    return make_staff("clinician", "Dr Rowan Ash")


@pytest.fixture
def submit(client) -> Callable[..., Any]:
    """submit(answers, email=...) -> the response of POST /screenings."""

    def post(answers: dict[str, Any], email: str = "pat@example.org", name: str = "Pat Example"):
        return client.post(SCREENINGS, json={"patient": {"name": name, "email": email}, "answers": answers})

    return post


def outbox_events(container: EligibilityContainer) -> list[dict[str, Any]]:
    """The envelopes in the outbox, in the order the relay publishes them."""
    table = container.runtime.tables["outbox"]
    with container.runtime.engine.connect() as connection:
        rows = connection.execute(select(table.c.envelope).order_by(table.c.created_at, table.c.id)).scalars()
        return list(rows)


def table_rows(container: EligibilityContainer, table) -> list[dict[str, Any]]:
    with container.runtime.engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table)).mappings()]


def received(container: EligibilityContainer, queue_service: str, count: int, timeout: float = 10.0) -> list[dict]:
    """Take ``count`` message bodies from a consuming service's queue on the broker (acking them)."""
    bodies: list[dict] = []
    deadline = time.monotonic() + timeout
    with container.runtime.broker_connection() as connection:
        queue = container.runtime.topology.service_queue(queue_service)(connection.default_channel)
        while len(bodies) < count and time.monotonic() < deadline:
            message = queue.get(no_ack=False)
            if message is None:
                time.sleep(0.05)
                continue
            bodies.append(message.decode())
            message.ack()
    assert len(bodies) == count, f"expected {count} message(s) on {queue_service}, got {len(bodies)}"
    return bodies


@pytest.fixture
def helpers():
    """Functions tests share (test modules cannot import each other under importlib mode)."""

    class Helpers:
        outbox_events = staticmethod(outbox_events)
        table_rows = staticmethod(table_rows)
        received = staticmethod(received)
        wait_for = staticmethod(wait_for)
        eligible_answers = staticmethod(eligible_answers)
        crisis_changes = CRISIS_CHANGES

    return Helpers


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    mark_folder_integration(items, __file__)
