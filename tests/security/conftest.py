"""Fixtures of the security tests: the services built by ``security_services``."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from security_services import RunningService, build_service  # noqa: E402 - importable thanks to the line above
from support.marks import mark_folder_integration  # noqa: E402


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., RunningService]]:
    built: list[RunningService] = []

    def make(name: str, **settings: Any) -> RunningService:
        service = build_service(name, tmp_path / f"{name}-{len(built)}", **settings)
        built.append(service)
        return service

    yield make
    for service in built:
        service.close()


def unique_schemathesis_items(items: list[pytest.Item]) -> None:
    """Give each schemathesis test (one per API operation) its own node id, as it had before pytest 9.2.

    schemathesis builds the items with ``originalname`` set to the test function's name, and pytest 9.2
    derives the node id from ``originalname``: all of a schema's operations then share one id
    (``test_api_fuzzing.py::test_booking_api``), and pytest-xdist, which schedules by node id, runs only
    one of them. Each such item is built again with its full name (``test_booking_api[GET /api/…]``) as
    ``originalname``, through the public constructor; it keeps its function, so it runs the same test.
    """
    from schemathesis.pytest.plugin import SchemathesisFunction

    for index, item in enumerate(items):
        if isinstance(item, SchemathesisFunction) and not hasattr(item, "callspec") and item.nodeid.endswith("::" + item.originalname):
            items[index] = SchemathesisFunction.from_parent(
                item.parent, name=item.name, originalname=item.name, callobj=item.obj, test_func=item.test_function,
                test_name=item.test_name, operation_label=item.operation_label, operation_tags=item.operation_tags,
            )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    unique_schemathesis_items(items)
    mark_folder_integration(items, __file__)
