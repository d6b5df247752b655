"""Returning patients (issue 12 §2): one record per normalised email, one-time sign-in links, /my
sessions, "My appointments", and widget proofs that let a valid screening be reused."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import func, select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.domain.patients import secret_hash
from kapbook_booking.entrypoints.app import create_app
from kapbook_booking.service_layer.eligibility import record_decision
from kapbook_platform.contracts import EventType, make_envelope
from kapbook_platform.runtime import alembic_config
from support.clinic import ClinicBuilder, patient
from support.clock import TravellingClock
from support.series import add_protocol, series_body

pytestmark = pytest.mark.integration
WIDGET_ORIGIN = "http://localhost:8765"
SENT = "If that address has appointments with us, a link is on its way."


@pytest.fixture
def clock():
    return TravellingClock()


@pytest.fixture
def limits() -> dict:
    return {}


@pytest.fixture
def service(tmp_path, db, database_factory, clock, limits):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           eligibility_url="http://127.0.0.1:9", cors_origins=(WIDGET_ORIGIN,), **limits)
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
    consult = clinic.appointment_type("consult", 30)
    infusion = clinic.appointment_type("infusion", 50, requires_eligibility=True)
    video = clinic.appointment_type("video", 30, modality="telehealth")
    clinic.clinician("Dr B", [consult, infusion, video])
    clinic.infusion = infusion
    return clinic


def book(client, clinic, email="pat@example.org", code="consult", day=3, hour=10, **extra):
    body = {"appointment_type": code, "start": clinic.local(day, hour).isoformat(), "patient": patient(email)} | extra
    return client.post("/api/booking/v1/bookings", json=body)


def decide(service, screening_id, email, clock, days_ago=1, outcome="eligible"):
    decided = clock.now - timedelta(days=days_ago)
    envelope = make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
        "screening_id": screening_id, "patient_email": email, "outcome": outcome, "ruleset_version": "v1",
        "decided_at": decided.isoformat(), "valid_until": (decided + timedelta(days=90)).isoformat()})
    with service.runtime.sessions.begin() as session:
        record_decision(session, envelope)


def csrf(client) -> str:
    page = client.get("/my")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def ask_for_link(client, email):
    return client.post("/my/sign-in-link", data={"email": email, "csrf_token": csrf(client)})


def sent_links(service) -> list[dict]:
    outbox = service.runtime.tables["outbox"]
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(select(outbox.c.envelope).where(outbox.c.type == EventType.PATIENT_SIGN_IN_LINK)
                                  .order_by(outbox.c.created_at)).scalars().all()
    return [row["data"] for row in rows]


def token_of(link: dict) -> str:
    return link["link_url"].rsplit("/", 1)[1]


def sign_in(client, token):
    client.get(f"/my/sign-in/{token}")
    return client.post(f"/my/sign-in/{token}", data={"csrf_token": csrf(client)})


def widget_proof(client, signed_in) -> str:
    """What the widget does back on its page: exchange the redirect's one-time hand-off code for a proof."""
    handoff = signed_in.headers["Location"].split("#kapbook-handoff=")[1]
    answer = client.post("/api/booking/v1/patient/proof", json={"handoff": handoff})
    assert answer.status_code == 201, answer.json
    return answer.json["proof"]


def test_one_patient_per_normalised_email(service, client, clinic):
    assert book(client, clinic, "Pat@Example.org").status_code == 201
    assert book(client, clinic, "pat@example.org", hour=13).status_code == 201
    with service.runtime.engine.connect() as connection:
        emails = connection.execute(select(t.patients.c.email)).scalars().all()
    assert emails == ["pat@example.org"]


def test_sign_in_by_link_shows_my_appointments_and_the_link_works_once(service, client, clinic):
    assert book(client, clinic, "Pat@Example.org").status_code == 201
    answer = ask_for_link(client, "  PAT@example.org ")
    assert answer.status_code == 200 and SENT in answer.text
    [link] = sent_links(service)
    assert link["email"] == "pat@example.org" and link["link_url"].startswith("http://127.0.0.1:8080/my/sign-in/")
    token = token_of(link)
    with service.runtime.engine.connect() as connection:
        stored = connection.execute(select(t.patient_sign_in_links.c.token_sha256)).scalars().all()
    assert stored == [secret_hash(token)], "only the hash of the token is kept"

    confirm = client.get(f"/my/sign-in/{token}")
    assert confirm.status_code == 200 and "Sign in" in confirm.text
    assert confirm.headers["Referrer-Policy"] == "no-referrer" and confirm.headers["Cache-Control"] == "no-store"
    assert client.get(f"/my/sign-in/{token}").status_code == 200, "fetching the page (a mail scanner) uses nothing"
    signed_in = client.post(f"/my/sign-in/{token}", data={"csrf_token": csrf(client)})
    assert signed_in.status_code == 303 and signed_in.headers["Location"].endswith("/my")
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("kapbook_patient=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie, "http public URL in development"
    mine = client.get("/my")
    assert "Signed in as pat@example.org" in mine.text and "Upcoming" in mine.text and "Consult" in mine.text

    again = client.post(f"/my/sign-in/{token}", data={"csrf_token": csrf(client)})
    assert again.status_code == 403 and "This link has expired or was already used" in again.text
    assert "kapbook_patient=" not in again.headers.get("Set-Cookie", "")


def test_expired_and_tampered_links_get_the_same_clear_page_and_no_session(service, client, clinic, clock):
    book(client, clinic)
    ask_for_link(client, "pat@example.org")
    token = token_of(sent_links(service)[0])
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    clock.advance(minutes=30, seconds=1)
    for attempt in (token, tampered, "x" * 300):
        page = client.get(f"/my/sign-in/{attempt}")
        assert page.status_code == 403 and "This link has expired or was already used — ask for a new one" in page.text
        assert 'name="email"' in page.text, "the page offers the form to ask again"
        used = client.post(f"/my/sign-in/{attempt}", data={"csrf_token": csrf(client)})
        assert used.status_code == 403 and "kapbook_patient=" not in used.headers.get("Set-Cookie", "")
        assert attempt not in page.text and attempt not in used.text


def test_the_answer_is_identical_for_known_and_unknown_addresses(service, client, clinic):
    book(client, clinic, "known@example.org")
    known, unknown = ask_for_link(client, "known@example.org"), ask_for_link(client, "stranger@example.org")
    assert (known.status_code, known.text) == (unknown.status_code, unknown.text)
    api_known = client.post("/api/booking/v1/patient/sign-in-links", json={"email": "known@example.org"})
    api_unknown = client.post("/api/booking/v1/patient/sign-in-links", json={"email": "stranger@example.org"})
    assert (api_known.status_code, api_known.json) == (api_unknown.status_code, api_unknown.json) == (202, {"message": SENT})
    assert [link["email"] for link in sent_links(service)] == ["known@example.org", "known@example.org"]


def test_forms_without_the_csrf_token_are_refused(service, client, clinic):
    book(client, clinic)
    assert client.post("/my/sign-in-link", data={"email": "pat@example.org"}).status_code == 400
    client.get("/my")
    assert client.post("/my/sign-in-link", data={"email": "pat@example.org", "csrf_token": "forged"}).status_code == 400
    assert sent_links(service) == []


@pytest.mark.parametrize("limits", [{"sign_in_limit_per_email": "2/hour", "sign_in_limit_per_ip": "100/hour"}])
def test_links_are_rate_limited_per_email_known_or_not(service, client, clinic):
    book(client, clinic)
    for email in ("pat@example.org", "stranger@example.org"):
        assert [ask_for_link(client, email).status_code for _ in range(2)] == [200, 200]
        refused = ask_for_link(client, email.upper())
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.post("/api/booking/v1/patient/sign-in-links", json={"email": "pat@example.org"}).status_code == 429
    assert ask_for_link(client, "other@example.org").status_code == 200, "another address is counted apart"


@pytest.mark.parametrize("limits", [{"sign_in_limit_per_email": "100/hour", "sign_in_limit_per_ip": "3/hour"}])
def test_links_are_rate_limited_per_ip(service, client, clinic):
    statuses = [ask_for_link(client, f"p{n}@example.org").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_session_ends_after_30_idle_minutes_and_on_sign_out(service, client, clinic, clock):
    book(client, clinic)
    ask_for_link(client, "pat@example.org")
    sign_in(client, token_of(sent_links(service)[0]))
    clock.advance(minutes=29)
    assert "Signed in as" in client.get("/my").text
    clock.advance(minutes=29)
    assert "Signed in as" in client.get("/my").text, "each request restarts the idle time"
    clock.advance(minutes=30, seconds=1)
    assert "Signed in as" not in client.get("/my").text

    ask_for_link(client, "pat@example.org")
    sign_in(client, token_of(sent_links(service)[1]))
    assert "Signed in as" in client.get("/my").text
    out = client.post("/my/sign-out", data={"csrf_token": csrf(client)})
    assert out.status_code == 303 and "kapbook_patient=;" in out.headers["Set-Cookie"]
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.patient_sessions)).scalar_one() == 0


@pytest.mark.parametrize("limits", [{"public_base_url": "https://book.clinic.example"}])
def test_the_session_cookie_is_secure_on_https(service, client, clinic):
    book(client, clinic)
    ask_for_link(client, "pat@example.org")
    answer = sign_in(client, token_of(sent_links(service)[0]))
    assert "Secure" in answer.headers["Set-Cookie"] and "HttpOnly" in answer.headers["Set-Cookie"]


def test_my_appointments_lists_upcoming_past_and_screening_validity(service, client, clinic, clock):
    book(client, clinic, "Pat@Example.org", day=2)
    book(client, clinic, "pat@example.org", day=5)
    book(client, clinic, "someone@example.org", day=4)
    decide(service, "s-1", "pat@example.org", clock, days_ago=10)
    ask_for_link(client, "pat@example.org")
    sign_in(client, token_of(sent_links(service)[0]))
    page = client.get("/my").text
    upcoming = page.split('id="upcoming-heading"')[1].split('id="past-heading"')[0]
    assert upcoming.count("<li") == 2 and "Reschedule" in upcoming and "Cancel" in upcoming
    assert "/manage/" in upcoming, "changes go through the manage page and its policy"
    until = (clock.now - timedelta(days=10) + timedelta(days=90)).astimezone(ZoneInfo("Europe/Berlin"))  # the patient's zone
    assert f"Screening approved, valid until {until:%A} {until.day} {until:%B %Y}" in page

    clock.advance(days=6)  # both appointments are over (the session too: sign in again)
    ask_for_link(client, "pat@example.org")
    sign_in(client, token_of(sent_links(service)[-1]))
    page = client.get("/my").text
    past = page.split('id="past-heading"')[1]
    assert past.count("<li") == 2 and "Reschedule" not in past
    clock.advance(days=80)
    ask_for_link(client, "pat@example.org")
    sign_in(client, token_of(sent_links(service)[-1]))
    assert "has expired — you'll be asked again" in client.get("/my").text


def test_a_widget_link_returns_a_proof_that_books_treatment_without_a_screening_id(service, client, clinic, clock):
    book(client, clinic, "Pat@Example.org")
    decide(service, "s-ok", "pat@example.org", clock)
    widget_page = f"{WIDGET_ORIGIN}/book?x=1"
    assert client.post("/api/booking/v1/patient/sign-in-links",
                       json={"email": "pat@example.org", "return_to": widget_page}).status_code == 202
    back = sign_in(client, token_of(sent_links(service)[0]))
    assert back.status_code == 303 and back.headers["Location"].startswith(widget_page + "#kapbook-handoff=")
    proof = widget_proof(client, back)

    status = client.post("/api/booking/v1/patient/status", json={"proof": proof})
    assert status.status_code == 200 and status.json["screening"]["state"] == "valid"
    assert status.json["patient"]["email"] == "pat@example.org"
    assert book(client, clinic, "someone.else@example.org", "infusion", hour=14, patient_proof=proof).json["code"] == "patient_proof_invalid"
    assert book(client, clinic, "pat@example.org", "infusion", hour=14).json["code"] == "screening_required"
    booked = book(client, clinic, "PAT@example.org", "infusion", hour=14, patient_proof=proof)
    assert booked.status_code == 201, booked.json
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(t.bookings.c.screening_id).where(t.bookings.c.id == booked.json["id"])).scalar() == "s-ok"

    clock.advance(minutes=31)  # the proof lasts 30 minutes from the sign-in, used or not
    assert client.post("/api/booking/v1/patient/status", json={"proof": proof}).status_code == 403
    assert book(client, clinic, "pat@example.org", "infusion", hour=16, patient_proof=proof).status_code == 403


def test_an_expired_screening_is_reported_and_a_proof_alone_cannot_book_treatment(service, client, clinic, clock):
    book(client, clinic)
    decide(service, "s-old", "pat@example.org", clock, days_ago=91)
    client.post("/api/booking/v1/patient/sign-in-links", json={"email": "pat@example.org", "return_to": WIDGET_ORIGIN})
    proof = widget_proof(client, sign_in(client, token_of(sent_links(service)[0])))
    status = client.post("/api/booking/v1/patient/status", json={"proof": proof}).json["screening"]
    assert status["state"] == "expired" and status["decided_at"].startswith((clock.now - timedelta(days=91)).date().isoformat())
    assert book(client, clinic, "pat@example.org", "infusion", hour=14, patient_proof=proof).json["code"] == "screening_required"


def test_a_widget_link_may_only_return_to_an_allowed_website(service, client, clinic):
    book(client, clinic)
    for target in ("https://evil.example/phish", "javascript:alert(1)", "//evil.example"):
        answer = client.post("/api/booking/v1/patient/sign-in-links", json={"email": "pat@example.org", "return_to": target})
        assert answer.status_code == 422 and "return_to" in answer.json["errors"]
    assert sent_links(service) == []


def test_a_my_session_gives_the_same_site_widget_a_proof(service, client, clinic):
    book(client, clinic)
    assert client.post("/api/booking/v1/patient/proof").json["code"] == "not_signed_in"
    ask_for_link(client, "pat@example.org")
    sign_in(client, token_of(sent_links(service)[0]))
    proof = client.post("/api/booking/v1/patient/proof")
    assert proof.status_code == 201
    assert client.post("/api/booking/v1/patient/status", json=proof.json).json["patient"]["email"] == "pat@example.org"


def test_migration_backfills_patients_from_bookings_case_insensitively(tmp_path, db, database_factory):
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test"))
    config = alembic_config(container.runtime, t.metadata, "kapbook_booking.adapters.migrations")
    command.upgrade(config, "0004")
    clinic = ClinicBuilder(container.runtime.sessions)
    consult = clinic.appointment_type("consult", 30)
    clinician = clinic.clinician("Dr B", [consult])
    rows = [("Pat@Example.org", "Pat Old", 9), ("pat@example.org", "Pat New", 11), ("sam@example.org", "Sam", 13)]
    with container.runtime.engine.begin() as connection:
        for email, name, hour in rows:
            start = clinic.local(2, hour)
            connection.execute(t.bookings.insert().values(
                id=f"b-{hour}", appointment_type_id=consult, clinician_id=clinician, location_id=clinic.location_id,
                start=start, end=start + timedelta(minutes=30), blocked_start=start, blocked_end=start + timedelta(minutes=30),
                status="booked", sequence=0, patient_name=name, patient_email=email, patient_timezone="Europe/Berlin",
                driver_confirmed=False, created_by="patient", created_at=start - timedelta(days=30 - hour),
                updated_at=start))
    command.upgrade(config, "head")
    with container.runtime.engine.connect() as connection:
        found = connection.execute(select(t.patients.c.email, t.patients.c.name).order_by(t.patients.c.email)).all()
    assert [tuple(row) for row in found] == [("pat@example.org", "Pat New"), ("sam@example.org", "Sam")]
    command.downgrade(config, "0004")
    command.upgrade(config, "head")
    container.runtime.engine.dispose()


def test_the_join_link_shows_from_15_minutes_before_the_start_until_the_end(service, client, clinic, clock):
    booked = book(client, clinic, code="video", day=3, hour=10)
    assert booked.status_code == 201 and booked.json["join_url"].startswith("https://")
    start = clinic.local(3, 10)

    def join_shown(at) -> bool:
        clock.set(at)
        ask_for_link(client, "pat@example.org")
        sign_in(client, token_of(sent_links(service)[-1]))
        return booked.json["join_url"] in client.get("/my").text

    assert not join_shown(start - timedelta(minutes=16))
    assert join_shown(start - timedelta(minutes=15))
    assert join_shown(start + timedelta(minutes=29))
    assert not join_shown(start + timedelta(minutes=30)), "over: the booking is past, with no join link"


def test_no_log_line_holds_a_sign_in_token_or_a_proof(service, client, clinic, caplog):
    book(client, clinic)
    client.post("/api/booking/v1/patient/sign-in-links", json={"email": "pat@example.org", "return_to": WIDGET_ORIGIN})
    token = token_of(sent_links(service)[0])
    with caplog.at_level("DEBUG"):
        back = sign_in(client, token)
        handoff = back.headers["Location"].split("#kapbook-handoff=")[1]
        proof = widget_proof(client, back)
        client.post("/api/booking/v1/patient/status", json={"proof": proof})
        client.get(f"/my/sign-in/{token}")
    logged = "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert "/my/sign-in/<string:token>" in logged, "requests are logged, by their route"
    assert token not in logged and handoff not in logged and proof not in logged


def test_the_hand_off_code_gives_one_proof_within_5_minutes(service, client, clinic, clock):
    book(client, clinic)
    for _ in range(2):
        client.post("/api/booking/v1/patient/sign-in-links", json={"email": "pat@example.org", "return_to": WIDGET_ORIGIN})
    first, second = (sign_in(client, token_of(link)) for link in sent_links(service))
    handoff = first.headers["Location"].split("#kapbook-handoff=")[1]
    assert client.post("/api/booking/v1/patient/status", json={"proof": handoff}).status_code == 403, "not a proof itself"
    assert client.post("/api/booking/v1/patient/proof", json={"handoff": handoff}).status_code == 201
    assert client.post("/api/booking/v1/patient/proof", json={"handoff": handoff}).json["code"] == "patient_proof_invalid"
    clock.advance(minutes=5)
    late = second.headers["Location"].split("#kapbook-handoff=")[1]
    assert client.post("/api/booking/v1/patient/proof", json={"handoff": late}).json["code"] == "patient_proof_invalid"


def test_a_proof_books_a_whole_series_without_a_screening_id_and_my_shows_its_progress(service, client, clinic, clock):
    add_protocol(clinic, "iv-3", clinic.infusion, 3, name="IV induction")
    book(client, clinic, "Pat@Example.org")
    decide(service, "s-ok", "pat@example.org", clock)
    assert client.post("/api/booking/v1/patient/sign-in-links",
                       json={"email": "pat@example.org", "return_to": f"{WIDGET_ORIGIN}/book"}).status_code == 202
    signed_in = sign_in(client, token_of(sent_links(service)[0]))
    proof = widget_proof(client, signed_in)
    body = series_body([clinic.local(day, 14) for day in (3, 4, 5)], email="PAT@example.org", protocol="iv-3")

    assert client.post("/api/booking/v1/series", json=body).json["code"] == "screening_required"
    booked = client.post("/api/booking/v1/series", json=body | {"patient_proof": proof})
    assert booked.status_code == 201, booked.json
    assert [s["series"]["position"] for s in booked.json["sessions"]] == [1, 2, 3]
    with service.runtime.engine.connect() as connection:
        assert set(connection.execute(select(t.bookings.c.screening_id).where(t.bookings.c.series_id == booked.json["id"]))
                   .scalars()) == {"s-ok"}
        assert connection.execute(select(func.count()).select_from(t.patients)).scalar() == 1
    page = client.get("/my").text
    assert all(f"IV induction: session {n} of 3" in page for n in (1, 2, 3))
