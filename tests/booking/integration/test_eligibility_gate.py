"""Treatment types need an eligible or clinician-approved screening of the same patient."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.contracts import EventType, make_envelope
from kapbook_booking.service_layer.eligibility import record_decision, record_review
from support.clinic import ClinicBuilder, patient
from support.pipeline import free_port

pytestmark = pytest.mark.integration
SERVICE_TOKEN = "test-service-token-0123456789"


class FakeEligibilityService(BaseHTTPRequestHandler):
    """A stand-in eligibility service over real HTTP: known decisions, or a 500 when told to fail.

    ``slow`` maps screening ids to seconds the answer takes; ``slow_lookup_started`` is set when one begins.
    """

    decisions: dict = {}
    failing = False
    slow: dict = {}
    slow_lookup_started = threading.Event()

    def do_GET(self):
        screening_id = self.path.rsplit("/", 1)[1]
        if screening_id in self.slow:
            FakeEligibilityService.slow_lookup_started.set()
            time.sleep(self.slow[screening_id])
        if self.failing:
            return self._reply(500, {"code": "internal_error"})
        if self.headers.get("Authorization") != f"Bearer {SERVICE_TOKEN}":
            return self._reply(401, {"code": "unauthorized"})
        decision = self.decisions.get(screening_id)
        return self._reply(200, decision) if decision else self._reply(404, {"code": "not_found"})

    def _reply(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def eligibility_server():
    FakeEligibilityService.decisions, FakeEligibilityService.failing, FakeEligibilityService.slow = {}, False, {}
    FakeEligibilityService.slow_lookup_started = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeEligibilityService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def service(tmp_path, db, database_factory, eligibility_server):
    url = f"http://127.0.0.1:{eligibility_server.server_address[1]}"
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                                        eligibility_url=url, service_token=SERVICE_TOKEN, eligibility_timeout=3.0))
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    infusion = clinic.appointment_type("infusion", 50, requires_eligibility=True, requires_driver=True)
    clinic.clinician("Dr B", [infusion])
    return clinic


def decision(screening_id, outcome="eligible", email="pat@example.org", days_ago=1, clinician_decision=None):
    decided = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return {"screening_id": screening_id, "patient_email": email, "outcome": outcome,
            "clinician_decision": clinician_decision, "decided_at": decided.isoformat(),
            "valid_until": (decided + timedelta(days=90)).isoformat()}


def book(service, clinic, screening_id=None, driver=True, hour=10, email="pat@example.org", client=None):
    body = {"appointment_type": "infusion", "start": clinic.local(3, hour).isoformat(), "patient": patient(email),
            "driver_confirmed": driver}
    if screening_id:
        body["screening_id"] = screening_id
    return (client or create_app(service).test_client()).post("/api/booking/v1/bookings", json=body)


def test_missing_screening_and_missing_driver_are_refused_with_their_own_codes(service, clinic):
    assert book(service, clinic, driver=False, screening_id="s").json["code"] == "driver_confirmation_required"
    assert book(service, clinic).json["code"] == "screening_required"


def test_an_eligible_decision_fetched_over_http_allows_booking_and_is_remembered(service, clinic, eligibility_server):
    FakeEligibilityService.decisions["s-ok"] = decision("s-ok")
    assert book(service, clinic, "s-ok").status_code == 201
    FakeEligibilityService.failing = True
    assert book(service, clinic, "s-ok", hour=13).status_code == 201, "the projection answers without asking again"


@pytest.mark.parametrize(
    "stored, code",
    [
        (decision("s", outcome="needs_review"), "not_eligible"),
        (decision("s", outcome="crisis"), "not_eligible"),
        (decision("s", outcome="ineligible"), "not_eligible"),
        (decision("s", email="someone.else@example.org"), "not_eligible"),
        (decision("s", days_ago=120), "not_eligible"),
        (decision("s", outcome="eligible", clinician_decision="declined"), "not_eligible"),
    ],
)
def test_decisions_that_do_not_allow_treatment_are_refused(service, clinic, stored, code):
    FakeEligibilityService.decisions["s"] = stored
    response = book(service, clinic, "s")
    assert response.status_code == 403 and response.json["code"] == code


def test_unknown_screening_is_refused(service, clinic):
    assert book(service, clinic, "nobody-knows").json["code"] == "not_eligible"


def test_eligibility_service_down_is_503_with_retry_after_never_500(service, clinic, eligibility_server):
    FakeEligibilityService.failing = True
    failing = book(service, clinic, "s-new")
    eligibility_server.shutdown()
    eligibility_server.server_close()
    unreachable = book(service, clinic, "s-other")
    for response in (failing, unreachable):
        assert response.status_code == 503 and response.json["code"] == "eligibility_unavailable"
        assert response.headers["Retry-After"] == "30"


def test_a_clinician_approval_from_events_unblocks_a_crisis_screening(service, clinic):
    now = datetime.now(timezone.utc)
    decided = make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
        "screening_id": "s-crisis", "patient_email": "pat@example.org", "outcome": "crisis",
        "ruleset_version": "v1", "decided_at": now.isoformat(), "valid_until": (now + timedelta(days=90)).isoformat()})
    with service.runtime.sessions.begin() as session:
        record_decision(session, decided)
    assert book(service, clinic, "s-crisis").json["code"] == "not_eligible"

    reviewed = make_envelope(EventType.SCREENING_REVIEWED, "/kapbook/eligibility", {
        "screening_id": "s-crisis", "patient_email": "pat@example.org", "decision": "approved",
        "reviewed_at": now.isoformat(), "valid_until": (now + timedelta(days=90)).isoformat()})
    with service.runtime.sessions.begin() as session:
        record_review(session, reviewed)
    assert book(service, clinic, "s-crisis").status_code == 201


def test_a_queued_v1_decision_with_reason_codes_is_still_honoured(service, clinic):
    """v1 carried reason codes (answers in disguise); v2 does not, but v1 events queued before an upgrade still count."""
    now = datetime.now(timezone.utc)
    decided = make_envelope(EventType.SCREENING_DECIDED_V1, "/kapbook/eligibility", {
        "screening_id": "s-old", "patient_email": "pat@example.org", "outcome": "eligible", "reason_codes": [],
        "ruleset_version": "v1", "decided_at": now.isoformat(), "valid_until": (now + timedelta(days=90)).isoformat()})
    with service.runtime.sessions.begin() as session:
        service.handlers[decided.type](session, decided)
    assert book(service, clinic, "s-old").status_code == 201


SLOW_LOOKUP_SECONDS = 1.5


def test_a_slow_eligibility_answer_does_not_hold_up_other_bookings(service, clinic):
    """The lookup runs before the booking transaction opens, so (on SQLite too) nobody waits for it."""
    FakeEligibilityService.decisions["s-new"] = decision("s-new", email="new@example.org")
    FakeEligibilityService.slow = {"s-new": SLOW_LOOKUP_SECONDS}
    now = datetime.now(timezone.utc)
    with service.runtime.sessions.begin() as session:
        record_decision(session, make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
            "screening_id": "s-known", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "v1",
            "decided_at": now.isoformat(), "valid_until": (now + timedelta(days=90)).isoformat()}))
    other_client = create_app(service).test_client()  # built before the clock starts: only the booking is timed
    slow: dict = {}
    waiting = threading.Thread(target=lambda: slow.update(response=book(service, clinic, "s-new", email="new@example.org")))
    slow_began = time.monotonic()
    waiting.start()
    assert FakeEligibilityService.slow_lookup_started.wait(5), "the slow lookup never reached the eligibility service"

    other_began = time.monotonic()
    other = book(service, clinic, "s-known", hour=13, client=other_client)
    other_seconds = time.monotonic() - other_began
    waiting.join(10)
    slow_seconds = time.monotonic() - slow_began

    assert other.status_code == 201 and slow["response"].status_code == 201
    assert slow_seconds >= SLOW_LOOKUP_SECONDS, f"the slow booking took only {slow_seconds:.2f} s"
    assert other_seconds < SLOW_LOOKUP_SECONDS / 3, f"the other booking waited {other_seconds:.2f} s for the slow lookup"
