"""The console's webhook pages: admins register an endpoint (secret shown once), see deliveries, replay."""
from __future__ import annotations

import re

import pytest

from kapbook_platform.contracts import make_envelope
from kapbook_platform.contracts.events import EventType
from support.clinic import issue_test_staff_token
from support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_an_admin_registers_sees_deliveries_and_replays_in_the_console(client, service):
    admin = {"Authorization": f"Bearer {issue_test_staff_token(service.runtime.sessions, 'admin')}"}
    receiver = WebhookReceiver().start()
    try:
        listing = client.get("/staff/webhooks", headers=admin)
        assert listing.status_code == 200 and "No webhook endpoints yet" in listing.text
        created = client.post("/staff/webhooks", headers=admin, data={
            "csrf_token": csrf(listing.text), "url": receiver.url, "event_types": ["screening.decided"], "description": "EHR"})
        assert created.status_code == 201
        secret = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', created.text).group(1)
        assert secret not in client.get("/staff/webhooks", headers=admin).text  # shown once
        receiver.secrets = [secret]
        (endpoint,) = service.webhooks.list()

        with service.runtime.sessions.begin() as session:
            service.handlers[EventType.SCREENING_DECIDED](session, make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
                "screening_id": "scr-c", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "1",
                "decided_at": "2026-12-01T10:00:00+00:00", "valid_until": "2027-03-01T10:00:00+00:00"}))
        service.webhook_dispatcher.deliver_due()
        detail = client.get(f"/staff/webhooks/{endpoint['id']}", headers=admin)
        assert detail.status_code == 200 and "succeeded" in detail.text and "HTTP 200" in detail.text
        delivery_id = re.search(r"<code>(msg_[0-9a-f]+)</code>", detail.text).group(1)

        replay = client.post(f"/staff/webhooks/{endpoint['id']}/deliveries/{delivery_id}/replay", headers=admin,
                             data={"csrf_token": csrf(detail.text)})
        assert replay.status_code == 303
        service.webhook_dispatcher.deliver_due()
        assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery_id, delivery_id]
    finally:
        receiver.stop()


def test_the_console_refuses_bad_input_and_other_roles(client, service):
    admin = {"Authorization": f"Bearer {issue_test_staff_token(service.runtime.sessions, 'admin')}"}
    front_desk = {"Authorization": f"Bearer {issue_test_staff_token(service.runtime.sessions, 'front_desk')}"}
    assert client.get("/staff/webhooks", headers=front_desk).status_code == 403
    listing = client.get("/staff/webhooks", headers=admin)
    bad = client.post("/staff/webhooks", headers=admin, data={"csrf_token": csrf(listing.text), "url": "ftp://x", "event_types": []})
    assert bad.status_code == 422 and "Please correct" in bad.text
    assert client.post("/staff/webhooks", headers=admin, data={"url": "https://x.example"}).status_code == 400  # no CSRF token
