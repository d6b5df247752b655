"""A returning patient's proof (the emailed sign-in link, issue 12 §2) books a whole treatment series
without a screening id while their decision is valid (§3), as it books one session; the proof stands
for its own email only."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_booking.service_layer.eligibility import record_decision
from kapbook_platform.contracts import EventType, make_envelope
from support.clinic import ClinicBuilder
from support.clock import TravellingClock
from support.series import add_protocol, next_monday_at, series_body

pytestmark = pytest.mark.integration
WIDGET_PAGE = "http://localhost:8765/book"


@pytest.fixture
def clock():
    return TravellingClock()


@pytest.fixture
def service(tmp_path, db, database_factory, clock):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           eligibility_url="http://127.0.0.1:9", cors_origins=("http://localhost:8765",))
    container = bootstrap(config, clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def client(service):
    return create_app(service).test_client()


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.consult = clinic.appointment_type("consult", 30)
    infusion = clinic.appointment_type("infusion", 50, requires_eligibility=True, category="dosing_iv")
    clinic.clinician("Nurse A", [clinic.consult, infusion])
    add_protocol(clinic, "iv-6", infusion, 6, name="IV induction")
    return clinic


def proof_for(service, client, email: str) -> str:
    """Sign in by the emailed link from a widget page, as the widget then gets its proof."""
    assert client.post("/api/booking/v1/patient/sign-in-links", json={"email": email, "return_to": WIDGET_PAGE}).status_code == 202
    outbox = service.runtime.tables["outbox"]
    with service.runtime.engine.connect() as connection:
        link = connection.execute(select(outbox.c.envelope).where(outbox.c.type == EventType.PATIENT_SIGN_IN_LINK)
                                  .order_by(outbox.c.created_at)).scalars().all()[-1]["data"]["link_url"]
    token = link.rsplit("/", 1)[1]
    page = client.get(f"/my/sign-in/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    back = client.post(f"/my/sign-in/{token}", data={"csrf_token": csrf})
    assert back.status_code == 303, back.text
    handoff = back.headers["Location"].split("#kapbook-handoff=")[1]  # the widget exchanges it for the proof
    exchanged = client.post("/api/booking/v1/patient/proof", json={"handoff": handoff})
    assert exchanged.status_code == 201, exchanged.json
    return exchanged.json["proof"]


def test_a_proof_books_a_whole_series_without_a_screening_id_for_its_own_email_only(service, client, clinic, clock):
    known = client.post("/api/booking/v1/bookings", json={  # an earlier visit makes Pat a known patient
        "appointment_type": "consult", "start": clinic.local(2, 9).isoformat(),
        "patient": {"name": "Pat Example", "email": "pat@example.org", "timezone": "America/New_York"}})
    assert known.status_code == 201, known.json
    decided = clock.now - timedelta(days=1)
    with service.runtime.sessions.begin() as session:
        record_decision(session, make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
            "screening_id": "s-ok", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "v1",
            "decided_at": decided.isoformat(), "valid_until": (decided + timedelta(days=90)).isoformat()}))
    proof = proof_for(service, client, "pat@example.org")
    monday = next_monday_at("America/New_York", 10, days_ahead=7)
    starts = [monday + timedelta(days=day) for day in (0, 1, 2, 7, 8, 9)]

    def post(email: str, key: str, **extra):
        return client.post("/api/booking/v1/series", headers={"Idempotency-Key": key},
                           json=series_body(starts, email=email, **extra))

    assert post("pat@example.org", "k1").json["code"] == "screening_required"
    assert post("someone.else@example.org", "k2", patient_proof=proof).json["code"] == "patient_proof_invalid"
    booked = post("PAT@example.org", "k3", patient_proof=proof)
    assert booked.status_code == 201, booked.json
    assert len(booked.json["sessions"]) == 6
    with service.runtime.engine.connect() as connection:
        screenings = connection.execute(select(t.bookings.c.screening_id).where(t.bookings.c.series_id == booked.json["id"])).scalars().all()
    assert screenings == ["s-ok"] * 6


def test_a_proof_joins_the_waitlist_for_a_treatment_type_without_a_screening_id(service, client, clinic, clock):
    known = client.post("/api/booking/v1/bookings", json={
        "appointment_type": "consult", "start": clinic.local(2, 9).isoformat(),
        "patient": {"name": "Pat Example", "email": "pat@example.org", "timezone": "America/New_York"}})
    assert known.status_code == 201, known.json
    decided = clock.now - timedelta(days=1)
    with service.runtime.sessions.begin() as session:
        record_decision(session, make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
            "screening_id": "s-wait", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "v1",
            "decided_at": decided.isoformat(), "valid_until": (decided + timedelta(days=90)).isoformat()}))
    proof = proof_for(service, client, "pat@example.org")
    body = {"appointment_type": "infusion", "windows": [{"weekdays": ["sat"], "start": "09:00", "end": "12:00"}],
            "patient": {"name": "Pat Example", "email": "pat@example.org", "timezone": "America/New_York"}}

    assert client.post("/api/booking/v1/waitlist", json=body).json["code"] == "screening_required"
    joined = client.post("/api/booking/v1/waitlist", json=body | {"patient_proof": proof})
    assert joined.status_code == 201, joined.json
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(t.waitlist_entries.c.screening_id)).scalars().all() == ["s-wait"]
