"""`make run` on a fresh data folder: every process starts, one HTTP call books, one email arrives."""
from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from support.pipeline import consultation_request, free_port, next_weekday_at
from support.waiting import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def running_system(tmp_path):
    ports = {name: str(free_port()) for name in ("PORT", "BOOKING_PORT", "ELIGIBILITY_PORT", "REMINDERS_PORT", "SMTP_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAPBOOK_", "BOOKING_", "SMTP_"))}
    env |= ports | {"KAPBOOK_VAR_DIR": str(tmp_path / "var"), "KAPBOOK_PUBLIC_URL": f"http://127.0.0.1:{ports['PORT']}"}
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{ports['PORT']}"
    try:
        wait_for(lambda: _ready(base), timeout=90, interval=0.5)
        yield base, tmp_path / "var" / "mail"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        (ROOT / "test-artifacts" / "make-run.log").write_bytes(output or b"")
    assert process.returncode is not None, "Ctrl-C must stop every process make run started"


def _ready(base: str) -> bool:
    try:
        return all(requests.get(f"{base}/api/{service}/readyz", timeout=2).status_code == 200
                   for service in ("booking", "eligibility", "reminders"))
    except requests.RequestException:
        return False


def test_one_curl_to_the_booking_api_puts_one_confirmation_email_in_the_maildir(running_system):
    base, maildir = running_system
    response = requests.post(f"{base}/api/booking/v1/bookings", json=consultation_request(next_weekday_at(15)), timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["manage_url"].startswith(base)

    box = mailbox.Maildir(maildir, create=False)
    wait_for(lambda: len(box.keys()) >= 1, timeout=15)
    time.sleep(1.0)
    assert len(box.keys()) == 1
    assert requests.get(f"{base}/api/booking/openapi.json", timeout=5).json()["info"]["title"] == "Kapbook booking API"
