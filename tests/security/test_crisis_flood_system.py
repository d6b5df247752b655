"""Finding 5 end to end, as real processes: a flood of crisis screenings from one address.

Eligibility and reminders run under gunicorn with their workers, the screening route capped at
5 an hour per address. 50 crisis submissions all get the crisis resources (help is never rate
limited), while an ordinary screening over the cap gets 429; on-call receives a few alert emails
that together list all 50 screenings, by link only.
"""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from support.screening_answers import CRISIS_CHANGES, eligible_answers
from support.system import SystemUnderTest
from support.waiting import wait_for

pytestmark = pytest.mark.integration

WINDOW = 20  # seconds; CRISIS_ALERT_WINDOW, short so the test does not wait two minutes
FLOOD = 50
ONCALL = "oncall@clinic.example"


@pytest.fixture
def system(tmp_path, database_factory):
    urls = {service: database_factory(service) for service in ("booking", "eligibility", "reminders")}
    sut = SystemUnderTest(tmp_path / "system", urls, f"filesystem://{tmp_path / 'broker'}", f"flood-{uuid.uuid4().hex[:8]}",
                          extra_env={"KAPBOOK_RATE_LIMIT": "5/hour", "CRISIS_ALERT_WINDOW": str(WINDOW),
                                     "ONCALL_EMAIL": ONCALL, "KAPBOOK_LOG_LEVEL": "WARNING"})
    sut.migrate()
    sut.start(services=("eligibility", "reminders"))
    yield sut
    sut.stop()


def submit(system: SystemUnderTest, answers: dict, email: str) -> requests.Response:
    return requests.post(f"{system.url('eligibility')}/api/eligibility/v1/screenings", timeout=10,
                         json={"patient": {"name": "Flood Test", "email": email}, "answers": answers})


def alerts(system: SystemUnderTest) -> list:
    return [email for email in system.emails() if email["To"] == ONCALL]


def listed(emails) -> set[str]:
    return {line.rsplit("/", 1)[1].strip() for email in emails
            for line in email.get_body(("plain",)).get_content().splitlines() if "/staff/screenings/" in line}


def test_a_flood_of_crisis_screenings_is_answered_with_help_and_reaches_on_call_as_a_few_emails(system):
    started = time.monotonic()
    ids = []
    for n in range(FLOOD):
        answer = submit(system, eligible_answers(**CRISIS_CHANGES), f"flood-{n}@example.org")
        assert answer.status_code == 201, answer.text
        assert answer.json()["outcome"] == "crisis" and answer.json()["crisis_resources"], answer.json()
        ids.append(answer.json()["id"])
    flood_seconds = time.monotonic() - started
    refused = submit(system, eligible_answers(), "calm@example.org")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"

    wait_for(lambda: listed(alerts(system)) >= set(ids), timeout=WINDOW * 2 + flood_seconds + 30, interval=0.5)
    emails = alerts(system)
    assert listed(emails) == set(ids)
    assert len(emails) <= 2 + flood_seconds // WINDOW, f"{len(emails)} alert emails for {FLOOD} screenings"
    for email in emails:
        body = email.get_body(("plain",)).get_content().lower()
        assert "cssrs" not in body and "flood test" not in body and "@example.org" not in body
