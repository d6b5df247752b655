"""Forgot password: a one-time link through the outbox (single use, 30 minutes, stored hashed), the
same answer whether or not the email has an account, and a reset ends every session."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.contracts.events import EVENT_SCHEMAS, EventType
from kapbook_platform.staff.tokens import token_digest
from support.clinic import add_test_staff_member, console_sign_in
from support.clock import TravellingClock

pytestmark = pytest.mark.integration
NEW = "Lantern-Orchid-Basalt-7"


@pytest.fixture
def clock() -> TravellingClock:
    return TravellingClock()


@pytest.fixture
def booking(tmp_path, db, database_factory, clock):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           public_base_url="https://book.clinic.example")
    container = bootstrap(config, clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def app(booking):
    return create_app(booking)


def form_post(client, path: str, data: dict):
    """POST a console form with a valid CSRF field (the forgot-password page's: same sign-in nonce)."""
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/forgot-password").get_data(as_text=True))
    return client.post(path, data={"csrf_token": csrf.group(1)} | data)


def reset_events(booking) -> list[dict]:
    outbox = t.PLATFORM_TABLES["outbox"]
    with booking.runtime.engine.connect() as connection:
        rows = connection.execute(select(outbox.c.envelope).where(outbox.c.type == EventType.STAFF_PASSWORD_RESET_LINK))
        return [row.envelope["data"] for row in rows]


def ask(app, email: str):
    return form_post(app.test_client(), "/staff/forgot-password", {"email": email})


def test_asking_sends_a_link_by_event_and_stores_only_its_hash(booking, app):
    member = add_test_staff_member(booking.runtime.sessions, "clinician")
    answer = ask(app, member["email"].upper())
    assert answer.status_code == 200 and "If that email belongs to a staff account" in answer.get_data(as_text=True)
    [event] = reset_events(booking)
    EVENT_SCHEMAS[EventType.STAFF_PASSWORD_RESET_LINK]().load(event)
    assert event["email"] == member["email"] and event["name"] == member["name"]
    secret = event["link_url"].removeprefix("https://book.clinic.example/staff/reset-password/")
    assert len(secret) >= 40
    with booking.runtime.engine.connect() as connection:
        [row] = connection.execute(select(t.staff_password_resets)).mappings().all()
    assert row["secret_sha256"] == token_digest(secret) and secret not in str(dict(row))
    assert row["expires_at"] - row["created_at"] == timedelta(minutes=30)


def test_an_unknown_email_gets_the_same_answer_and_no_email(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    known, unknown = ask(app, member["email"]), ask(app, "nobody@clinic.example")
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'name="csrf_token" value="[^"]+"', "", html)  # noqa: E731 - the only difference
    assert strip(known.get_data(as_text=True)) == strip(unknown.get_data(as_text=True))
    assert len(reset_events(booking)) == 1


def test_at_most_three_live_links_per_account(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    for _ in range(5):
        assert ask(app, member["email"]).status_code == 200
    assert len(reset_events(booking)) == 3


def test_the_link_sets_a_new_password_once_and_ends_every_session(booking, app):
    member = add_test_staff_member(booking.runtime.sessions)
    signed_in = app.test_client()
    console_sign_in(signed_in, member["email"])
    ask(app, member["email"])
    path = reset_events(booking)[0]["link_url"].removeprefix("https://book.clinic.example")
    client = app.test_client()
    weak = form_post(client, path, {"password": "password1234"})
    assert weak.status_code == 422 and "most common passwords" in weak.get_data(as_text=True)
    done = form_post(client, path, {"password": NEW})
    assert done.status_code == 303 and "notice=password_reset" in done.headers["Location"]
    assert signed_in.get("/staff/calendar").status_code == 302, "the old session is over"
    assert console_sign_in(app.test_client(), member["email"]).status_code == 401, "the old password is gone"
    assert console_sign_in(app.test_client(), member["email"], NEW).status_code == 303
    again = form_post(app.test_client(), path, {"password": "Another-Fine-Password-8"})
    assert again.status_code == 410 and "expired or was used already" in again.get_data(as_text=True)
    assert app.test_client().get(path).status_code == 410


def test_the_link_expires_after_thirty_minutes(booking, app, clock):
    member = add_test_staff_member(booking.runtime.sessions)
    ask(app, member["email"])
    path = reset_events(booking)[0]["link_url"].removeprefix("https://book.clinic.example")
    clock.advance(minutes=29)
    assert app.test_client().get(path).status_code == 200
    clock.advance(minutes=1)
    assert app.test_client().get(path).status_code == 410
    assert form_post(app.test_client(), path, {"password": NEW}).status_code == 410
