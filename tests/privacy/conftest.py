"""Privacy checks on the logs of a whole run of the system."""
from __future__ import annotations

import pytest

from support.marks import mark_folder_integration


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    mark_folder_integration(items, __file__)
