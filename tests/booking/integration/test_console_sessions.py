"""Console sign-in with email and password, and its server-side sessions (finding 1: the console
cookie used to *be* the staff bearer token, and no sign-in ever expired)."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.staff.principal import authenticate
from kapbook_platform.staff.tokens import token_digest
from kapbook_platform.staff.web import STAFF_COOKIE
from support.clinic import TEST_PASSWORD, add_test_staff_member, console_sign_in, csrf_of
from support.clock import TravellingClock
from support.pipeline import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> TravellingClock:
    return TravellingClock()


@pytest.fixture
def booking(tmp_path, db, database_factory, clock):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           console_idle_seconds=900, console_session_hours=12)
    container = bootstrap(config, clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def app(booking):
    return create_app(booking)


def session_rows(booking) -> list[dict]:
    with booking.runtime.engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(t.staff_sessions)).mappings()]


def cookie(client):
    return client.get_cookie(STAFF_COOKIE, path="/staff/")


def outbox_types(booking) -> list[str]:
    """Event types in the outbox, sorted (ids are random, and one test clock instant may hold several)."""
    outbox = t.PLATFORM_TABLES["outbox"]
    with booking.runtime.engine.connect() as connection:
        return sorted(row.type for row in connection.execute(select(outbox.c.type)))


def audit_actions(booking) -> list[tuple[str, str]]:
    audit = t.PLATFORM_TABLES["audit_log"]
    with booking.runtime.engine.connect() as connection:
        return [(row.actor, row.action) for row in connection.execute(select(audit.c.actor, audit.c.action).order_by(audit.c.id))]


def test_signing_in_makes_a_session_whose_secret_is_stored_only_hashed_in_a_strict_cookie(booking, app):
    member = add_test_staff_member(booking.runtime.sessions, "front_desk")
    client = app.test_client()
    signed_in = console_sign_in(client, member["email"], next_path="/staff/clinicians")
    assert signed_in.status_code == 303 and signed_in.headers["Location"].endswith("/staff/clinicians")
    header = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/staff/" in header
    assert "Secure" not in header, "the test's public URL is http"
    secret = cookie(client).value
    [row] = session_rows(booking)
    assert row["secret_sha256"] == token_digest(secret) and secret not in str(row)
    assert row["staff_id"] == member["id"] and row["ip"] == "127.0.0.1" and row["user_agent"]
    assert row["created_at"] == row["last_seen_at"]
    assert client.get("/staff/calendar").status_code == 200
    assert ("anonymous", "staff.signed_in") not in audit_actions(booking)
    assert (member["id"], "staff.signed_in") in audit_actions(booking)


def test_the_cookie_is_secure_when_the_public_url_is_https(tmp_path, db, database_factory):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           public_base_url="https://book.clinic.example")
    container = bootstrap(config)
    container.migrate()
    try:
        member = add_test_staff_member(container.runtime.sessions)
        signed_in = console_sign_in(create_app(container).test_client(), member["email"])
        assert "Secure" in signed_in.headers["Set-Cookie"]
    finally:
        container.runtime.engine.dispose()


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer_and_are_audited(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    wrong = console_sign_in(app.test_client(), member["email"], "not-the-password-at-all")
    unknown = console_sign_in(app.test_client(), "nobody@clinic.example", TEST_PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match a staff account"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert session_rows(booking) == []
    assert audit_actions(booking).count(("anonymous", "staff.sign_in_failed")) == 2


def test_the_cookie_is_not_a_credential_anywhere_else(booking, app):
    """Finding 1: the cookie's secret authenticates no API call, as a cookie or as a bearer token."""
    member = add_test_staff_member(booking.runtime.sessions, "admin")
    client = app.test_client()
    console_sign_in(client, member["email"])
    secret = cookie(client).value
    client.set_cookie(STAFF_COOKIE, secret, path="/")
    assert client.get("/api/booking/v1/locations").status_code == 401
    assert client.get("/api/booking/v1/locations", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_session_delegate_is_published_and_revoked_when_the_session_ends(booking, app):
    member = add_test_staff_member(booking.runtime.sessions, "clinician")
    client = app.test_client()
    console_sign_in(client, member["email"])
    delegate = booking.console_sessions.delegate_token(cookie(client).value)
    credentials = t.PLATFORM_TABLES["staff_credentials"]
    with booking.runtime.sessions() as session:
        principal = authenticate(session, credentials, delegate)
    assert principal is not None and principal.staff_id == member["id"] and principal.role == "clinician"
    assert outbox_types(booking) == ["kapbook.staff.credential_issued.v1"]
    signed_out = client.post("/staff/sign-out", data={"csrf_token": csrf_of(client)})
    assert signed_out.status_code == 303 and "notice=signed_out" in signed_out.headers["Location"]
    assert session_rows(booking) == []
    assert client.get("/staff/calendar").status_code == 302
    with booking.runtime.sessions() as session:
        assert authenticate(session, credentials, delegate) is None
    assert outbox_types(booking) == ["kapbook.staff.credential_issued.v1", "kapbook.staff.credential_revoked.v1"]


def test_an_idle_session_ends_after_the_idle_timeout_and_a_busy_one_after_twelve_hours(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    client = app.test_client()
    console_sign_in(client, member["email"])
    clock.advance(minutes=14)
    assert client.get("/staff/calendar").status_code == 200, "14 minutes idle: still signed in"
    clock.advance(minutes=14)
    assert client.get("/staff/calendar").status_code == 200, "the last request reset the idle clock"
    clock.advance(minutes=15)
    idle = client.get("/staff/calendar")
    assert idle.status_code == 302 and "/staff/sign-in" in idle.headers["Location"]
    assert session_rows(booking) == [], "the lapsed session is deleted"

    console_sign_in(client, member["email"])
    for _ in range(12 * 6 - 1):  # a request every 10 minutes for 11 h 50 min
        clock.advance(minutes=10)
        assert client.get("/staff/calendar").status_code == 200
    clock.advance(minutes=10)
    assert client.get("/staff/calendar").status_code == 302, "twelve hours after signing in, busy or not"


def test_sign_out_everywhere_ends_every_session_of_that_staff_member_only(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    other = add_test_staff_member(booking.runtime.sessions, "clinician")
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    for client, who in ((laptop, member), (phone, member), (colleague, other)):
        console_sign_in(client, who["email"])
    assert len(session_rows(booking)) == 3
    ended = laptop.post("/staff/sign-out-everywhere", data={"csrf_token": csrf_of(laptop)})
    assert ended.status_code == 303 and "signed_out_everywhere" in ended.headers["Location"]
    assert phone.get("/staff/calendar").status_code == 302
    assert colleague.get("/staff/calendar").status_code == 200
    assert [row["staff_id"] for row in session_rows(booking)] == [other["id"]]
    assert (member["id"], "staff.signed_out_everywhere") in audit_actions(booking)


def test_the_sign_in_form_and_sign_out_still_check_csrf(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    client = app.test_client()
    client.get("/staff/sign-in")
    forged = client.post("/staff/sign-in", data={"csrf_token": "forged", "email": member["email"], "password": TEST_PASSWORD})
    assert forged.status_code == 400 and session_rows(booking) == []
    console_sign_in(client, member["email"])
    assert client.post("/staff/sign-out", data={"csrf_token": "forged"}).status_code == 400
    assert len(session_rows(booking)) == 1


class FakeReminders(BaseHTTPRequestHandler):
    """Answers the notification log, recording what each request carried."""

    seen: list[dict] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        FakeReminders.seen.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                   "cookie": self.headers.get("Cookie")})
        body = json.dumps([{"channel": "email", "kind": "confirmation", "status": "sent"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_notification_log_is_fetched_server_side_with_the_sessions_delegate_not_the_cookie(tmp_path, database_factory):
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeReminders)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeReminders.seen = []
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           reminders_url=f"http://127.0.0.1:{server.server_port}")
    container = bootstrap(config)
    container.migrate()
    try:
        member = add_test_staff_member(container.runtime.sessions, "front_desk")
        client = create_app(container).test_client()
        console_sign_in(client, member["email"])
        answer = client.get("/staff/bookings/b-1/notifications")
        assert answer.status_code == 200 and answer.json[0]["status"] == "sent"
        assert answer.headers["Cache-Control"] == "no-store"
        [call] = FakeReminders.seen
        delegate = container.console_sessions.delegate_token(cookie(client).value)
        assert call["path"] == "/api/reminders/v1/notifications?booking_id=b-1"
        assert call["authorization"] == f"Bearer {delegate}" and call["cookie"] is None
        assert app_refuses_anonymous(create_app(container).test_client())
    finally:
        server.shutdown()
        container.runtime.engine.dispose()


def app_refuses_anonymous(client) -> bool:
    answer = client.get("/staff/bookings/b-1/notifications")
    return answer.status_code == 302 and "/staff/sign-in" in answer.headers["Location"]


def test_five_failures_lock_the_account_for_fifteen_minutes_even_for_the_right_password(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    for _ in range(5):
        assert console_sign_in(app.test_client(), member["email"], "Wrong-Password-123").status_code == 401
    locked = console_sign_in(app.test_client(), member["email"])
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert session_rows(booking) == []
    assert ("anonymous", "staff.sign_in_locked") in audit_actions(booking)
    clock.advance(minutes=15)
    assert console_sign_in(app.test_client(), member["email"]).status_code == 303


def test_the_lockout_answers_the_same_whether_or_not_the_email_exists(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    answers = {}
    for email in (member["email"], "nobody@clinic.example"):
        for _ in range(5):
            console_sign_in(app.test_client(), email, "Wrong-Password-123")
        answer = console_sign_in(app.test_client(), email, "Wrong-Password-123")
        answers[email] = (answer.status_code, re.search(r'role="alert">([^<]+)<', answer.get_data(as_text=True)).group(1))
    assert answers[member["email"]] == answers["nobody@clinic.example"]
    assert answers[member["email"]][0] == 429


def test_a_success_clears_the_accounts_failures(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    for _ in range(4):
        console_sign_in(app.test_client(), member["email"], "Wrong-Password-123")
    assert console_sign_in(app.test_client(), member["email"]).status_code == 303
    for _ in range(4):
        console_sign_in(app.test_client(), member["email"], "Wrong-Password-123")
    assert console_sign_in(app.test_client(), member["email"]).status_code == 303


def test_twenty_failures_from_one_address_lock_that_address_for_every_account(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    for number in range(20):
        console_sign_in(app.test_client(), f"guess{number}@clinic.example", "Wrong-Password-123")
    assert console_sign_in(app.test_client(), member["email"]).status_code == 429
    elsewhere = app.test_client()
    form = elsewhere.get("/staff/sign-in", environ_base={"REMOTE_ADDR": "192.0.2.7"}).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = elsewhere.post("/staff/sign-in", environ_base={"REMOTE_ADDR": "192.0.2.7"},
                            data={"csrf_token": csrf, "email": member["email"], "password": TEST_PASSWORD})
    assert answer.status_code == 303, "another address is not locked"


def test_an_unknown_email_still_costs_one_password_hash_check(booking, app, monkeypatch):
    """The answer takes as long whether or not the email exists: a dummy hash is checked."""
    from kapbook_booking.service_layer import console_sessions

    checked = []
    real = console_sessions.verify_password
    monkeypatch.setattr(console_sessions, "verify_password", lambda stored, password: checked.append(stored) or real(stored, password))
    member = add_test_staff_member(booking.runtime.sessions)
    console_sign_in(app.test_client(), member["email"], "Wrong-Password-123")
    console_sign_in(app.test_client(), "nobody@clinic.example", "Wrong-Password-123")
    assert len(checked) == 2 and all(stored.startswith("$argon2id$") for stored in checked)
