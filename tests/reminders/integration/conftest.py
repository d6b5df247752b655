"""Fixtures for the reminders integration tests: a service on the ``db`` backend, a real SMTP sink."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reminders_harness import START, Harness, SmtpSink  # noqa: E402 - importable thanks to the line above
from support.marks import mark_folder_integration  # noqa: E402

# The booking is made five days ahead: every reminder of the default plan is still to come.
BOOKED_AT = START - timedelta(days=5)


@pytest.fixture
def sink(tmp_path):
    sink = SmtpSink(tmp_path / "mail").start()
    yield sink
    sink.stop()


@pytest.fixture
def harness(tmp_path, db, database_factory, sink):
    """The reminders service on the test's database backend, its clock at BOOKED_AT."""
    harness = Harness.build(tmp_path, database_factory("reminders"), BOOKED_AT, sink)
    yield harness
    harness.close()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    mark_folder_integration(items, __file__)
