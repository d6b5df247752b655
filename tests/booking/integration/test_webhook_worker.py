"""The booking worker process sends webhook deliveries (its ``webhooks`` loop), signed, once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_platform.contracts import make_envelope
from kapbook_platform.contracts.events import EventType
from kapbook_platform.staff.principal import StaffPrincipal
from support.waiting import wait_for
from support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
ADMIN = StaffPrincipal(staff_id="staff-admin", name="Test admin", role="admin", credential_id="cred-admin")


def test_the_worker_process_delivers_a_screening_webhook(tmp_path, db, database_factory):
    url = database_factory("booking")
    container = bootstrap(BookingConfig(database_url=url, var_dir=tmp_path, env="test"))
    container.migrate()
    receiver = WebhookReceiver().start()
    endpoint = container.webhooks.create(ADMIN, {"url": receiver.url, "event_types": ["screening.decided"]})
    receiver.secrets = [endpoint["secret"]]
    envelope = make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
        "screening_id": "scr-9", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "1",
        "decided_at": "2026-12-01T10:00:00+00:00", "valid_until": "2027-03-01T10:00:00+00:00",
    })
    with container.runtime.sessions.begin() as session:
        container.handlers[EventType.SCREENING_DECIDED](session, envelope)
    container.runtime.engine.dispose()

    env = os.environ | {"BOOKING_DATABASE_URL": url, "KAPBOOK_VAR_DIR": str(tmp_path), "KAPBOOK_ENV": "test",
                        "BOOKING_WEBHOOK_INTERVAL": "0.1"}
    worker = subprocess.Popen([sys.executable, "-m", "kapbook_booking.entrypoints.cli", "worker", "--no-relay", "--no-consume"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: receiver.processed, timeout=20)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
        receiver.stop()
    assert worker.returncode == 0, stderr.decode()[-2000:]
    (payload,) = receiver.processed.values()
    assert payload["data"]["screening_id"] == "scr-9"
    assert [request.verified for request in receiver.requests] == [True]
