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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    mark_folder_integration(items, __file__)
