"""The layers are checked, not hoped: import-linter's contracts in .importlinter hold.

Per service, the domain imports no service layer, adapters, entrypoints, Flask, SQLAlchemy or
kapbook_platform.web; the service layer imports no entrypoints, Flask or kapbook_platform.web; the
services never import each other and kapbook_platform imports none of them. Indirect imports
count: a service-layer module importing a platform module that imports Flask breaks its contract.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"


@pytest.mark.import_contracts
def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(CONFIG)],
        cwd=ROOT, env=os.environ | {"COLUMNS": "200", "NO_COLOR": "1"}, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"lint-imports {CONFIG.name} found broken contracts:\n{result.stdout}{result.stderr}", pytrace=False)
