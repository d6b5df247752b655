"""Fixtures shared by the booking service's staff API tests: a migrated service, a client, staff tokens."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.staff.principal import ROLES
from kapbook_platform.staff.tokens import token_digest
from support.marks import mark_folder_integration


@pytest.fixture
def booking_config_overrides() -> dict:
    """Extra BookingConfig fields; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def service(tmp_path, db, database_factory, booking_config_overrides):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test", **booking_config_overrides)
    container = bootstrap(config)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def client(service):
    return create_app(service).test_client()


@pytest.fixture
def staff(service) -> dict[str, dict[str, str]]:
    """Authorization headers for one staff member of each role (staff id ``staff-<role>``)."""
    headers = {}
    with service.runtime.sessions.begin() as session:
        for role in ROLES:
            token = f"kbs_test_{role}_{uuid.uuid4().hex}"
            session.execute(t.PLATFORM_TABLES["staff_credentials"].insert().values(
                credential_id=f"cred-{role}", staff_id=f"staff-{role}", staff_name=f"Test {role}", role=role,
                token_sha256=token_digest(token), issued_at=datetime.now(timezone.utc)))
            headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    mark_folder_integration(items, __file__)


@pytest.fixture
def cli_env(service, monkeypatch):
    """The CLI's bootstrap reads the environment: point it at the test's database."""
    monkeypatch.setenv("BOOKING_DATABASE_URL", service.runtime.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KAPBOOK_VAR_DIR", str(service.config.var_dir))
    monkeypatch.setenv("KAPBOOK_ENV", "test")


@pytest.fixture(scope="session")
def radicale():
    """A real CalDAV server (Radicale): CI's (KAPBOOK_TEST_CALDAV_URL), else one started for this run."""
    from support.radicale import Radicale

    server = Radicale.from_environment() or Radicale.start()
    yield server
    server.stop()
