"""Two-step verification in the console: enrolment (QR drawn locally, secret shown), confirmation,
sign-in with a code or a single-use recovery code, the "required" setting, re-authentication."""
from __future__ import annotations

import re
import pyotp
import pytest
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from support.clinic import TEST_PASSWORD, add_test_staff_member, console_sign_in, csrf_of
from support.clock import TravellingClock

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> TravellingClock:
    return TravellingClock()


@pytest.fixture
def two_step_setting() -> str:
    return "optional"


@pytest.fixture
def booking(tmp_path, db, database_factory, clock, two_step_setting):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test", two_step=two_step_setting)
    container = bootstrap(config, clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def app(booking):
    return create_app(booking)


def secret_on_page(html: str) -> str:
    return re.search(r"<code data-totp-secret>([A-Z2-7]+)</code>", html).group(1)


def enrol(client, clock) -> tuple[str, list[str]]:
    """Set up two-step verification through the pages; the secret and the recovery codes."""
    html = client.get("/staff/two-step").get_data(as_text=True)
    secret = secret_on_page(html)
    done = client.post("/staff/two-step", data={"csrf_token": csrf_of(client, "/staff/two-step"),
                                                "code": pyotp.TOTP(secret).at(clock.now)})
    assert done.status_code == 200, done.get_data(as_text=True)[:400]
    return secret, re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", done.get_data(as_text=True))


def audit_actions(booking) -> list[str]:
    audit = t.PLATFORM_TABLES["audit_log"]
    with booking.runtime.engine.connect() as connection:
        return [row.action for row in connection.execute(select(audit.c.action))]


def test_enrolment_shows_a_local_qr_code_and_the_secret_and_a_code_turns_it_on(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions, "clinician")
    client = app.test_client()
    console_sign_in(client, member["email"])
    html = client.get("/staff/two-step").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert "<path" in svg and "http" not in svg, "the QR code is drawn here, nothing is fetched"
    secret = secret_on_page(html)
    assert client.get("/staff/two-step").get_data(as_text=True).count(secret) >= 1, "a reload keeps the pending secret"
    wrong = client.post("/staff/two-step", data={"csrf_token": csrf_of(client, "/staff/two-step"), "code": "000000"})
    assert wrong.status_code == 422 and "does not match" in wrong.get_data(as_text=True)
    secret, codes = enrol(client, clock)
    assert len(codes) == len(set(codes)) == 10
    with booking.runtime.engine.connect() as connection:
        stored = [row.code_sha256 for row in connection.execute(select(t.staff_recovery_codes))]
    assert len(stored) == 10 and not set(codes) & set(stored), "recovery codes are stored hashed"
    again = client.get("/staff/two-step").get_data(as_text=True)
    assert "is <strong>on</strong>" in again and codes[0] not in again, "the codes are shown once"
    assert "staff.two_step_enabled" in audit_actions(booking)


def test_once_enrolled_signing_in_needs_a_fresh_code_or_an_unused_recovery_code(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    client = app.test_client()
    console_sign_in(client, member["email"])
    secret, codes = enrol(client, clock)
    clock.advance(seconds=60)
    without = console_sign_in(app.test_client(), member["email"])
    assert without.status_code == 401 and "do not match" in without.get_data(as_text=True)
    code = pyotp.TOTP(secret).at(clock.now)
    first = app.test_client()
    assert console_sign_in_with_code(first, member["email"], code).status_code == 303
    replay = console_sign_in_with_code(app.test_client(), member["email"], code)
    assert replay.status_code == 401, "a code signs in once"
    assert console_sign_in_with_code(app.test_client(), member["email"], codes[3].upper()).status_code == 303
    assert console_sign_in_with_code(app.test_client(), member["email"], codes[3]).status_code == 401, "single use"
    wrong_password = console_sign_in_with_code(app.test_client(), member["email"], codes[4], password="Not-The-Password-1")
    assert wrong_password.status_code == 401
    assert console_sign_in_with_code(app.test_client(), member["email"], codes[4]).status_code == 303, "not spent by a failure"


def console_sign_in_with_code(client, email: str, code: str, password: str | None = None):
    form = client.get("/staff/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post("/staff/sign-in", data={"csrf_token": csrf, "email": email, "password": password or TEST_PASSWORD,
                                               "code": code})


@pytest.mark.parametrize("two_step_setting", ["required"])
def test_when_required_a_staff_member_without_it_is_sent_to_enrolment_first(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions, "front_desk")
    client = app.test_client()
    signed_in = console_sign_in(client, member["email"], next_path="/staff/calendar")
    assert signed_in.status_code == 303
    for path in ("/staff/calendar", "/staff/clinicians", "/staff/bookings/new"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/staff/two-step"), path
    assert "requires two-step verification" in client.get("/staff/two-step").get_data(as_text=True)
    enrol(client, clock)
    assert client.get("/staff/calendar").status_code == 200


def test_the_production_default_is_required_and_elsewhere_optional():
    assert BookingConfig(env="test").two_step_required is False
    assert BookingConfig(env="development").two_step_required is False
    assert BookingConfig(env="test", two_step="required").two_step_required is True
    assert BookingConfig(env="production", two_step="").two_step_required is True
    assert BookingConfig(env="production", two_step="optional").two_step_required is False


def test_changing_two_step_verification_needs_the_password_within_five_minutes(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    client = app.test_client()
    console_sign_in(client, member["email"])
    clock.advance(minutes=6)
    page = client.get("/staff/two-step").get_data(as_text=True)
    assert 'name="password"' in page, "the form asks for the password again"
    secret = secret_on_page(page)
    refused = client.post("/staff/two-step", data={"csrf_token": csrf_of(client, "/staff/two-step"),
                                                   "code": pyotp.TOTP(secret).at(clock.now)})
    assert refused.status_code == 400 and "Type your password again" in refused.get_data(as_text=True)
    done = client.post("/staff/two-step", data={"csrf_token": csrf_of(client, "/staff/two-step"), "password": member["password"],
                                                "code": pyotp.TOTP(secret).at(clock.now)})
    assert done.status_code == 200 and "shown only now" in done.get_data(as_text=True)
    clock.advance(minutes=6)
    reset = client.post("/staff/two-step/reset", data={"csrf_token": csrf_of(client, "/staff/two-step")})
    assert reset.status_code == 400
    assert booking.two_step.status(member["id"]).enabled
    reset = client.post("/staff/two-step/reset", data={"csrf_token": csrf_of(client, "/staff/two-step"),
                                                       "password": member["password"]})
    assert reset.status_code == 303 and not booking.two_step.status(member["id"]).enabled
    assert "staff.two_step_reset" in audit_actions(booking)


def test_an_admin_adds_a_staff_member_in_the_console_with_a_recent_password(booking, app, clock):
    admin = add_test_staff_member(booking.runtime.sessions, "admin")
    client = app.test_client()
    console_sign_in(client, admin["email"])
    body = {"name": "Dr New", "email": "new@clinic.example", "role": "clinician", "password": "Tulip-Ferry-Quartz-92"}
    weak = client.post("/staff/team", data=body | {"csrf_token": csrf_of(client, "/staff/team"), "password": "password1234"})
    assert weak.status_code == 422 and "most common passwords" in weak.get_data(as_text=True)
    clock.advance(minutes=6)
    stale = client.post("/staff/team", data=body | {"csrf_token": csrf_of(client, "/staff/team")})
    assert stale.status_code == 400 and "Type your own password again" in stale.get_data(as_text=True)
    added = client.post("/staff/team", data=body | {"csrf_token": csrf_of(client, "/staff/team"), "your_password": admin["password"]})
    assert added.status_code == 303
    assert "new@clinic.example" in client.get("/staff/team").get_data(as_text=True)
    assert console_sign_in(app.test_client(), "new@clinic.example", "Tulip-Ferry-Quartz-92").status_code == 303


def test_only_admins_see_the_staff_page(booking, app):
    member = add_test_staff_member(booking.runtime.sessions, "front_desk")
    client = app.test_client()
    console_sign_in(client, member["email"])
    assert client.get("/staff/team").status_code == 403


def stored_totp_secret(booking, staff_id: str) -> str | None:
    with booking.runtime.engine.connect() as connection:
        return connection.execute(select(t.staff_members.c.totp_secret).where(t.staff_members.c.id == staff_id)).scalar_one()


def test_the_totp_secret_is_sealed_in_the_database(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    client = app.test_client()
    console_sign_in(client, member["email"])
    pending = secret_on_page(client.get("/staff/two-step").get_data(as_text=True))
    assert pending not in (stored_totp_secret(booking, member["id"]) or ""), "not even the pending secret is plain"
    secret, _codes = enrol(client, clock)
    stored = stored_totp_secret(booking, member["id"])
    assert stored and secret not in stored and stored.startswith("gAAAAA")
    clock.advance(seconds=60)
    assert console_sign_in_with_code(app.test_client(), member["email"], pyotp.TOTP(secret).at(clock.now)).status_code == 303


def test_a_secret_stored_plain_before_sealing_still_signs_in_and_is_sealed_on_use(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    client = app.test_client()
    console_sign_in(client, member["email"])
    secret, _codes = enrol(client, clock)
    with booking.runtime.engine.begin() as connection:  # as a row written before migration 0018 looks
        connection.execute(t.staff_members.update().where(t.staff_members.c.id == member["id"]).values(totp_secret=secret))
    clock.advance(seconds=60)
    assert console_sign_in_with_code(app.test_client(), member["email"], pyotp.TOTP(secret).at(clock.now)).status_code == 303
    stored = stored_totp_secret(booking, member["id"])
    assert stored != secret and stored.startswith("gAAAAA"), "sealed once used"
    clock.advance(seconds=60)
    assert console_sign_in_with_code(app.test_client(), member["email"], pyotp.TOTP(secret).at(clock.now)).status_code == 303


def test_a_secret_sealed_under_another_service_key_refuses_codes_but_not_recovery_codes(tmp_path, booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    client = app.test_client()
    console_sign_in(client, member["email"])
    secret, codes = enrol(client, clock)
    other = bootstrap(BookingConfig(database_url=booking.config.database_url, var_dir=tmp_path, env="test",
                                    secret_key="another-service-key-" + "x" * 32), clock=clock)
    moved = create_app(other)  # BOOKING_SECRET_KEY changed: the sealed secret cannot be opened
    clock.advance(seconds=60)
    refused = console_sign_in_with_code(moved.test_client(), member["email"], pyotp.TOTP(secret).at(clock.now))
    assert refused.status_code == 401
    assert console_sign_in_with_code(moved.test_client(), member["email"], codes[0]).status_code == 303
    other.runtime.engine.dispose()
