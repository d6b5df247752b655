"""Names that do not exist and imports nobody uses are caught before a test has to run the line.

ruff's pyflakes rules (F) over all Python in the repository: an undefined name in a code path no
test reaches (a CLI command, an error branch) would otherwise surface only in production.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_no_undefined_names_or_unused_imports():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--select", "F", "--no-cache", "--output-format", "concise", "services", "shared", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"ruff found problems:\n{result.stdout}{result.stderr}", pytrace=False)
