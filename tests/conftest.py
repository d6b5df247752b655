"""Fixtures shared by every test: embedded backends always, real ones when configured.

Set KAPBOOK_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and
KAPBOOK_TEST_AMQP_URL (e.g. amqp://guest:guest@127.0.0.1:5672//) to run the same suites against
real PostgreSQL and RabbitMQ, and KAPBOOK_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) for the
tests of the shared rate-limit store. KAPBOOK_TEST_CALDAV_URL names a running Radicale (CI's);
without it the CalDAV tests start their own. With KAPBOOK_REQUIRE_REAL_SERVICES=1 (CI) a missing or unreachable
service fails the run instead of narrowing it.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.backends import (  # noqa: E402 - the path above makes the support package importable
    amqp_reachable,
    caldav_reachable,
    drop_amqp_namespace,
    fresh_postgres_database,
    postgres_reachable,
    redis_reachable,
)

POSTGRES_URL = os.environ.get("KAPBOOK_TEST_POSTGRES_URL", "")
AMQP_URL = os.environ.get("KAPBOOK_TEST_AMQP_URL", "")
REDIS_URL = os.environ.get("KAPBOOK_TEST_REDIS_URL", "")
CALDAV_URL = os.environ.get("KAPBOOK_TEST_CALDAV_URL", "")
REQUIRE_REAL = os.environ.get("KAPBOOK_REQUIRE_REAL_SERVICES", "") == "1"


def pytest_sessionstart(session) -> None:
    if not REQUIRE_REAL:
        return
    problems = []
    if not POSTGRES_URL or not postgres_reachable(POSTGRES_URL):
        problems.append(f"PostgreSQL not reachable at KAPBOOK_TEST_POSTGRES_URL={POSTGRES_URL!r}")
    if not AMQP_URL or not amqp_reachable(AMQP_URL):
        problems.append(f"RabbitMQ not reachable at KAPBOOK_TEST_AMQP_URL={AMQP_URL!r}")
    if not REDIS_URL or not redis_reachable(REDIS_URL):
        problems.append(f"Redis not reachable at KAPBOOK_TEST_REDIS_URL={REDIS_URL!r}")
    if CALDAV_URL and not caldav_reachable(CALDAV_URL):
        problems.append(f"the CalDAV server (Radicale) not reachable at KAPBOOK_TEST_CALDAV_URL={CALDAV_URL!r}")
    if problems:
        pytest.exit("Real services are required (KAPBOOK_REQUIRE_REAL_SERVICES=1): " + "; ".join(problems), returncode=3)


def database_backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def broker_backends() -> list[str]:
    return ["filesystem", "amqp"] if AMQP_URL else ["filesystem"]


def _param(request, name: str, default: str) -> str:
    callspec = getattr(request.node, "callspec", None)
    return callspec.params.get(name, default) if callspec else default


@pytest.fixture
def redis_url() -> str:
    """The real Redis of KAPBOOK_TEST_REDIS_URL; without it the test is skipped (CI requires it, see above)."""
    if not REDIS_URL:
        pytest.skip("set KAPBOOK_TEST_REDIS_URL to run the shared rate-limit store tests")
    return REDIS_URL


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def database_factory(tmp_path: Path, request):
    """Returns make(name) -> a fresh database URL on the backend of the test's ``db`` parameter."""
    backend = _param(request, "db", "sqlite")
    cleanups = []

    def make(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        url, drop = fresh_postgres_database(POSTGRES_URL, f"kb_{name}")
        cleanups.append(drop)
        return url

    yield make
    for drop in cleanups:
        drop()


@pytest.fixture
def broker_url(tmp_path: Path, request) -> str:
    backend = _param(request, "broker", "filesystem")
    return AMQP_URL if backend == "amqp" else f"filesystem://{tmp_path / 'broker'}"


@pytest.fixture
def broker_namespace(broker_url: str):
    namespace = f"kbtest-{uuid.uuid4().hex[:10]}"
    yield namespace
    if broker_url.startswith("amqp"):
        drop_amqp_namespace(broker_url, namespace)


def pytest_generate_tests(metafunc) -> None:
    """Tests taking ``db`` or ``broker`` run once per available backend (``postgresql_only``: PostgreSQL alone)."""
    if "db" in metafunc.fixturenames:
        backends = database_backends()
        if metafunc.definition.get_closest_marker("postgresql_only"):
            backends = [backend for backend in backends if backend == "postgresql"]
        metafunc.parametrize("db", backends)
    if "broker" in metafunc.fixturenames:
        metafunc.parametrize("broker", broker_backends())
