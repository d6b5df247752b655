"""No health data in any log line of a full run of every process.

The whole system runs as real processes at DEBUG (three services under gunicorn, their
workers, the SMTP sink). One patient is screened, approved by the rules, books, and checks in
before a dose with answers that alert on-call; another
screens into the crisis path, the on-call clinician is alerted and writes a review note. Then
every line every process wrote is searched for answers, scores and the note — and every email
too. SQLite and the filesystem broker always; PostgreSQL and RabbitMQ when configured.
"""
from __future__ import annotations

import os
import re
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from kapbook_eligibility.domain import load_questionnaire
from kapbook_platform.config import DEVELOPMENT_SERVICE_TOKEN
from kapbook_platform.contracts.check_in_links import CheckInLink, CheckInOccasion, check_in_link_keys, make_check_in_token
from support.scratch import drop_amqp_namespace
from support.screening_answers import eligible_answers
from support.system import BIN, SystemUnderTest
from support.waiting import wait_for

pytestmark = pytest.mark.integration

DATE_OF_BIRTH = "1961-07-29"
NOTE = "Osprey review: disclosed a plan with pills saved up; safety plan agreed with her sister."
APPROVAL_NOTE = "Heron check: lamotrigine dose stable at 200 mg, neurologist agrees."
MEDICATIONS = ["lamotrigine", "snri"]
SCORE_WORDS = ('"total"', "'total'", "item9", "cssrs_risk", "treatment_resistant", "moderately_severe",
               "moderately severe", "failed_trials", "phq9", "gad7", "cssrs", "diazepam")


def answers(date_of_birth: str = DATE_OF_BIRTH, **changes) -> dict:
    return eligible_answers(phq9=2, gad7=2, date_of_birth=date_of_birth, medications=MEDICATIONS,
                            failed_antidepressant_trials=3, **changes)


@pytest.fixture
def system(tmp_path, db, database_factory):
    """Every process of the system at DEBUG; the broker matches the database (embedded or real)."""
    amqp = os.environ.get("KAPBOOK_TEST_AMQP_URL", "")
    if db == "postgresql" and not amqp:
        pytest.skip("the real-services run needs KAPBOOK_TEST_AMQP_URL too")
    broker = amqp if db == "postgresql" else f"filesystem://{tmp_path / 'broker'}"
    namespace = f"privacy-{uuid.uuid4().hex[:8]}"
    urls = {service: database_factory(service) for service in ("booking", "eligibility", "reminders")}
    # CRISIS_ALERT_WINDOW 0: the check-in's alert goes to on-call at once, not gathered with Sam's crisis.
    extra_env = {"KAPBOOK_LOG_LEVEL": "DEBUG", "CRISIS_ALERT_WINDOW": "0"}
    sut = SystemUnderTest(tmp_path / "system", urls, broker, namespace, extra_env=extra_env)
    sut.migrate()
    subprocess.run([str(BIN / "kapbook-booking"), "seed-demo"], env=sut.environment, check=True, capture_output=True)
    sut.start()
    yield sut
    sut.stop()
    if broker.startswith("amqp"):
        drop_amqp_namespace(broker, namespace)


def staff_token(system: SystemUnderTest, role: str) -> str:
    issued = subprocess.run([str(BIN / "kapbook-booking"), "create-staff", "--name", "Dr Reviewer",
                             "--email", "reviewer@clinic.example", "--role", role],
                            env=system.environment, check=True, capture_output=True, text=True)
    return issued.stdout.strip().splitlines()[-1]


def test_a_full_run_logs_no_answers_scores_or_notes(system):
    eligibility = f"{system.url('eligibility')}/api/eligibility/v1"
    booking = f"{system.url('booking')}/api/booking/v1"
    headers = {"Authorization": f"Bearer {staff_token(system, 'clinician')}"}

    # Robin takes lamotrigine: a clinician must look before Robin may book a ketamine-related session.
    screened = requests.post(f"{eligibility}/screenings", timeout=10, json={
        "patient": {"name": "Robin Lane", "email": "robin@example.org"}, "answers": answers()})
    assert screened.status_code == 201, screened.text
    assert screened.json()["outcome"] == "needs_review", screened.json()
    wait_for(lambda: requests.get(f"{eligibility}/reviews?status=pending", headers=headers, timeout=5).status_code == 200,
             timeout=20)  # the clinician's credential travels to eligibility as an event
    review(eligibility, headers, screened.json()["id"], "approved", APPROVAL_NOTE)
    slot = first_slot(booking, "preparation-session")
    booking_request = {
        "appointment_type": "preparation-session", "start": slot["start"], "screening_id": screened.json()["id"],
        "patient": {"name": "Robin Lane", "email": "robin@example.org", "timezone": "America/Chicago"}}
    # The approval reaches the booking service as an event; until then it asks eligibility directly.
    wait_for(lambda: ok(requests.post(f"{booking}/bookings", timeout=10, json=booking_request)), timeout=20)

    # Sam screens into the crisis path: the on-call clinician is alerted, opens it and writes a note.
    crisis = requests.post(f"{eligibility}/screenings", timeout=10, json={
        "patient": {"name": "Sam Hale", "email": "sam@example.org"},
        "answers": answers("1990-02-11", phq9_9=3, cssrs_2=True, cssrs_3=True, cssrs_4=True, cssrs_5=False)})
    assert crisis.json()["outcome"] == "crisis", crisis.json()
    review(eligibility, headers, crisis.json()["id"], "declined", NOTE)

    # Robin checks in before a dose and answers item 9 above 0: a review item, and on-call is alerted.
    received = check_in(system, "robin@example.org", "Robin Lane")
    assert "Please reach out for support now" in received

    wait_for(lambda: {"robin@example.org", "oncall@clinic.example"} <= recipients(system), timeout=30)
    # Sam's crisis and Robin's check-in alert: two emails, or one listing both if they came close together.
    wait_for(lambda: len(alerted_links(system)) >= 2, timeout=60)
    system.stop()  # every process flushes and exits; nothing is written after this

    logs = "\n".join(log.read_text(errors="replace") for log in sorted(system.logs.glob("*.log")))
    # The capture is real: each process logged its part of the run, at DEBUG.
    for evidence in (screened.json()["id"], crisis.json()["id"], "event handled", "message sent",
                     '"route": "/api/booking/v1/bookings", "status": 201', "screenings/<string:screening_id>/review"):
        assert evidence in logs, f"{evidence!r} missing: the logs were not captured"
    leaks = [text for text in forbidden(include_link_ids=True) if text in logs]
    assert leaks == [], f"health data in the logs: {leaks}"

    emails = "\n".join(message.as_string() for message in system.emails())
    assert leaks_in(emails) == [], "health data in an email"


def check_in(system: SystemUnderTest, email: str, name: str) -> str:
    """Open a check-in link as the emailed one would be (ids sealed under the service token's key) and answer it:
    PHQ-9 all "several days" (item 9 too), GAD-7 all "more than half the days", C-SSRS all no."""
    keys = check_in_link_keys((), system.environment.get("KAPBOOK_SERVICE_TOKEN") or DEVELOPMENT_SERVICE_TOKEN)
    dose = datetime.now(UTC) + timedelta(days=1)
    token = make_check_in_token(CheckInLink(str(uuid.uuid4()), CheckInOccasion.BEFORE_DOSE, email, name, dose, dose), keys)
    url = f"{system.url('eligibility')}/api/eligibility/v1/check-in"
    form = requests.get(url, params={"token": token}, timeout=10)
    assert form.status_code == 200, form.text[:300]
    names = dict.fromkeys(re.findall(r'type="radio" name="([a-z0-9_]+)"', form.text))
    choice = {name: "1" if name.startswith("phq9_") else "2" if name.startswith("gad7_") else "false" for name in names}
    sent = requests.post(url, params={"token": token}, data=choice, timeout=10)
    assert sent.status_code == 200, sent.text[:300]
    return sent.text


def forbidden(include_link_ids: bool) -> list[str]:
    texts = [DATE_OF_BIRTH, "1990-02-11", NOTE, "Osprey", "pills saved", APPROVAL_NOTE, "Heron", "neurologist",
             *MEDICATIONS, *SCORE_WORDS]
    if include_link_ids:
        texts += [link_id for link_id in load_questionnaire().link_ids if "_" in link_id]
    return texts


def leaks_in(text: str) -> list[str]:
    return [word for word in forbidden(include_link_ids=False) if re.search(re.escape(word), text, re.IGNORECASE)]


def review(eligibility: str, headers: dict, screening_id: str, decision: str, note: str) -> None:
    opened = requests.get(f"{eligibility}/screenings/{screening_id}", headers=headers, timeout=5)
    assert opened.status_code == 200 and opened.json()["answers"]["medications"] == MEDICATIONS
    reviewed = requests.post(f"{eligibility}/screenings/{screening_id}/review", headers=headers, timeout=5,
                             json={"decision": decision, "note": note})
    assert reviewed.status_code == 201, reviewed.text


def ok(response: requests.Response) -> requests.Response | None:
    return response if response.status_code == 201 else None


def first_slot(booking: str, appointment_type: str) -> dict:
    start = date.today() + timedelta(days=3)
    found = requests.get(f"{booking}/availability", timeout=10, params={
        "appointment_type": appointment_type, "start": start.isoformat(),
        "end": (start + timedelta(days=14)).isoformat(), "timezone": "America/Chicago"})
    assert found.status_code == 200, found.text
    return found.json()["slots"][0]


def alerted_links(system: SystemUnderTest) -> set[str]:
    """The review links in every email on-call received."""
    bodies = [m.get_body(preferencelist=("plain",)).get_content() for m in system.emails()
              if "oncall@clinic.example" in str(m["To"])]
    return {link for body in bodies for link in re.findall(r"https?://\S+/staff/\S+", body)}


def recipients(system: SystemUnderTest) -> set[str]:
    return {str(message["To"]).split("<")[-1].rstrip(">") for message in system.emails()}
