"""The load script (bench/load/run_load.py) still runs: a CI-sized load, every check passing.

Needs the real services (KAPBOOK_TEST_POSTGRES_URL and KAPBOOK_TEST_AMQP_URL); skipped without
them. The full load is 200 patients for 60 s: see bench/load/run_load.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REAL_SERVICES = bool(os.environ.get("KAPBOOK_TEST_POSTGRES_URL")) and bool(os.environ.get("KAPBOOK_TEST_AMQP_URL"))


@pytest.mark.skipif(not REAL_SERVICES, reason="needs KAPBOOK_TEST_POSTGRES_URL and KAPBOOK_TEST_AMQP_URL")
def test_twenty_patients_for_ten_seconds_pass_every_check(tmp_path):
    figures = tmp_path / "load.json"
    finished = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load" / "run_load.py"), "--users", "20", "--spawn-rate", "10",
         "--duration", "10s", "--clinicians", "8", "--json", str(figures)],
        capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert finished.returncode == 0, finished.stdout + finished.stderr[-3000:]
    made = {item["metric"]: item["value"] for item in json.loads(figures.read_text())}
    assert made["load bookings made"] > 0
    assert made["load checks failed"] == 0
    assert "FAIL" not in finished.stdout
    assert "PASS  exactly one confirmation per booking" in finished.stdout
