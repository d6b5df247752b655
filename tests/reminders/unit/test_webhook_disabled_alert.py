"""A disabled webhook endpoint: each admin the event names gets one short alert with the console link."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.domain.plan import MessageKind

sys.path.insert(0, str(Path(__file__).parent))

from reminders_fakes import BOOKED_AT, Reminders  # noqa: E402 - importable thanks to the line above

ENDPOINT = "0b6f1d2e-3c4a-4b5d-8e9f-112233445566"


def disabled_event(recipients=("ada@clinic.example", "Ben@clinic.example")):
    return make_envelope(EventType.WEBHOOK_ENDPOINT_DISABLED, "/kapbook/booking", {
        "endpoint_id": ENDPOINT, "url": "https://ehr-bridge.clinic.example/kapbook", "description": "EHR bridge",
        "recipients": list(recipients), "failed_deliveries": 5, "disabled_at": BOOKED_AT.isoformat()})


@pytest.fixture
def reminders(branding) -> Reminders:
    return Reminders.build(branding)


def test_each_admin_gets_one_alert_with_the_endpoint_and_the_console_link(reminders):
    event = disabled_event()
    reminders.planner.on_webhook_disabled(None, event)
    reminders.planner.on_webhook_disabled(None, event)  # redelivered: no second email

    assert reminders.dispatcher.dispatch_all_due() == 2
    assert sorted(reminders.sender.recipients()) == ["ada@clinic.example", "ben@clinic.example"]
    email = reminders.sender.sent[0]
    assert email["Subject"].startswith("A webhook endpoint was turned off")
    text = email.get_body(("plain",)).get_content()
    assert "https://ehr-bridge.clinic.example/kapbook" in text and "EHR bridge" in text and "5 messages in a row" in text
    assert f"/staff/webhooks/{ENDPOINT}" in text
    assert len(reminders.store.by_kind(MessageKind.WEBHOOK_DISABLED)) == 2


def test_no_admin_named_means_no_email(reminders):
    reminders.planner.on_webhook_disabled(None, disabled_event(recipients=()))
    assert reminders.dispatcher.dispatch_all_due() == 0
