"""Marks a whole test folder, so a test file there cannot forget what kind of test it is.

A folder of integration tests has a conftest.py with::

    from support.marks import mark_folder_integration

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(items):
        mark_folder_integration(items, __file__)

(``pytestmark`` in a conftest.py marks nothing: pytest reads it from test modules only; and the
hook sees every collected item, hence the folder test.) ``tryfirst`` marks them before ``-m``
deselects, so ``make test-unit`` (``-m "not integration"``) never runs them.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest


def mark_folder_integration(items: Iterable[pytest.Item], conftest: str) -> None:
    """Give every item collected in the folder of ``conftest`` (a conftest's ``__file__``) the ``integration`` mark."""
    folder = Path(conftest).parent
    for item in items:
        if item.path.is_relative_to(folder):
            item.add_marker(pytest.mark.integration)
