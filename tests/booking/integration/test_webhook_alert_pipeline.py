"""Through the real pipeline: an endpoint that keeps failing is disabled and the admins get an email.

booking dispatcher -> outbox (webhook.endpoint_disabled) -> relay -> broker -> reminders -> SMTP.
"""
from __future__ import annotations

import pytest

from kapbook_booking.adapters import tables as t
from kapbook_platform.contracts import make_envelope
from kapbook_platform.contracts.events import EventType
from kapbook_platform.staff.principal import StaffPrincipal
from support.clinic import new_id
from support.clock import TravellingClock
from support.pipeline import Pipeline
from support.waiting import wait_for
from support.webhook_receiver import free_port

pytestmark = pytest.mark.integration
ADMIN = StaffPrincipal(staff_id="staff-admin", name="Test admin", role="admin", credential_id="cred-admin")


@pytest.fixture
def pipeline(tmp_path, db, broker, database_factory, broker_url, broker_namespace):
    pipeline = Pipeline(tmp_path, database_factory("booking"), database_factory("reminders"), broker_url, broker_namespace)
    yield pipeline
    pipeline.close()


def test_a_disabled_endpoint_emails_the_admins_through_reminders(pipeline):
    booking = pipeline.booking
    clock = TravellingClock()
    booking.webhook_dispatcher.clock = clock
    booking.webhook_dispatcher.disable_after = 1
    with booking.runtime.sessions.begin() as session:
        session.execute(t.staff_members.insert().values(id=new_id(), name="Ada Admin", email="ada@clinic.example",
                                                        role="admin", created_at=clock.now))
    endpoint = booking.webhooks.create(ADMIN, {"url": f"http://127.0.0.1:{free_port()}/down", "event_types": ["screening.decided"]})
    with booking.runtime.sessions.begin() as session:
        booking.handlers[EventType.SCREENING_DECIDED](session, make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
            "screening_id": "scr-p", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "1",
            "decided_at": "2026-12-01T10:00:00+00:00", "valid_until": "2027-03-01T10:00:00+00:00"}))
    for _ in range(10):  # nobody listens: every attempt of the schedule fails
        booking.webhook_dispatcher.deliver_due()
        clock.advance(hours=11)
    assert booking.webhooks.get(endpoint["id"])["active"] is False

    pipeline.start()
    (alert,) = wait_for(lambda: pipeline.mail.to("ada@clinic.example"), timeout=20)
    assert alert["Subject"].startswith("A webhook endpoint was turned off")
    text = alert.get_body(("plain",)).get_content()
    assert endpoint["url"] in text and f"/staff/webhooks/{endpoint['id']}" in text
    assert "pat@example.org" not in text and "scr-p" not in text
