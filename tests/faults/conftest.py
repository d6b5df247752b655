"""Fault injection on the whole system: private PostgreSQL and RabbitMQ servers that tests may stop.

These tests run with the real services switched on (KAPBOOK_TEST_POSTGRES_URL set, as in CI)
or with KAPBOOK_RUN_FAULTS=1; `make test-faults` runs only them. The servers are private
instances of the machine's PostgreSQL and RabbitMQ, so restarting them never disturbs
another test run. When real services are required, a server that cannot start fails the run.
"""
from __future__ import annotations

import os
import uuid
from datetime import time

import pytest

from kapbook_platform.database import create_db_engine, make_session_factory
from support.clinic import ClinicBuilder
from support.marks import mark_folder_integration
from support.servers import PrivatePostgres, PrivateRabbitMQ, ServerUnavailable
from support.system import SystemUnderTest

ENABLED = bool(os.environ.get("KAPBOOK_TEST_POSTGRES_URL")) or os.environ.get("KAPBOOK_RUN_FAULTS") == "1"
REQUIRED = os.environ.get("KAPBOOK_REQUIRE_REAL_SERVICES") == "1"
CLINICIANS = 10


def _server(start):
    if not ENABLED:
        pytest.skip("fault tests run with the real services (KAPBOOK_TEST_POSTGRES_URL) or KAPBOOK_RUN_FAULTS=1")
    try:
        return start()
    except ServerUnavailable as problem:
        if REQUIRED:
            pytest.fail(f"fault tests need a private server: {problem}")
        pytest.skip(str(problem))


@pytest.fixture(scope="session")
def private_postgres():
    server = _server(lambda: PrivatePostgres().start())
    yield server
    server.close()


@pytest.fixture(scope="session")
def private_rabbitmq():
    server = _server(lambda: PrivateRabbitMQ().start())
    yield server
    server.close()


@pytest.fixture
def system(tmp_path, private_postgres, private_rabbitmq):
    """The system's processes (not yet started) on fresh databases and a fresh broker namespace."""
    suffix = uuid.uuid4().hex[:8]
    urls = {service: private_postgres.create_database(f"{service}_{suffix}")
            for service in ("booking", "eligibility", "reminders")}
    sut = SystemUnderTest(tmp_path, urls, private_rabbitmq.url, f"faults-{suffix}",
                          extra_env={"DISPATCH_LEASE": "30", "SMTP_TIMEOUT": "3"})
    sut.migrate()
    yield sut
    sut.stop()


@pytest.fixture
def clinic(system):
    """Ten clinicians working 08:00-18:00 every day, and a 30-minute consultation anyone may book."""
    engine = create_db_engine(system.database_urls["booking"])
    builder = ClinicBuilder(make_session_factory(engine))
    type_id = builder.appointment_type("consult", 30, min_notice_minutes=60, horizon_days=90)
    builder.clinician_ids = [builder.clinician(f"Clinician {i}", [type_id], (time(8), time(18)))
                             for i in range(CLINICIANS)]
    yield builder
    engine.dispose()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    mark_folder_integration(items, __file__)
