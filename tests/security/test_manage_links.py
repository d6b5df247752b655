"""Manage links beyond tests/booking/integration/test_booking_lifecycle.py (a flipped signature, reading
after the end): a link cannot be made without the secret, is good for its own booking only, and
stops working for every action, in the API and on the page, once the appointment is over."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import delete, select

from kapbook_booking.adapters import tables
from kapbook_booking.service_layer.links import MANAGE_SALT
from support.clinic import add_test_staff_member, console_sign_in, csrf_of
from support.clock import TravellingClock

pytestmark = pytest.mark.integration

API = "/api/booking/v1"


@pytest.fixture
def clock():
    return TravellingClock()


@pytest.fixture
def booking(service_factory, clock, db):
    # ``db``: every test here runs on SQLite and, with KAPBOOK_TEST_POSTGRES_URL, on PostgreSQL.
    return service_factory("booking", clock=clock)


def book_two(booking) -> list[dict]:
    first = date.today() + timedelta(days=3)
    slots = booking.client.get(f"{API}/availability", query_string={
        "appointment_type": "free-consultation", "start": first.isoformat(),
        "end": (first + timedelta(days=7)).isoformat(), "timezone": "UTC"}).json["slots"]
    made = []
    for slot, email in ((slots[0], "ana@example.org"), (slots[8], "ben@example.org")):
        response = booking.client.post(f"{API}/bookings", json={
            "appointment_type": "free-consultation", "start": slot["start"],
            "patient": {"name": email.split("@")[0].title(), "email": email, "timezone": "Europe/Berlin"}})
        assert response.status_code == 201, response.json
        made.append(response.json | {"token": response.json["manage_url"].rsplit("/", 1)[1]})
    return made


def status_of(booking, booking_id: str) -> str:
    return booking.client.get(f"{API}/bookings/{booking_id}", headers=booking.staff_headers("admin")).json["status"]


def refused_everywhere(booking, token: str, code: str = "manage_link_expired") -> None:
    """Reading, cancelling and rescheduling with ``token`` are all refused, in the API and on the page."""
    client = booking.client
    start = {"start": "2030-01-07T10:00:00+00:00"}
    for response in (client.get(f"{API}/manage/{token}"), client.post(f"{API}/manage/{token}/cancel"),
                     client.post(f"{API}/manage/{token}/reschedule", json=start)):
        assert response.status_code == 403 and response.json["code"] == code, (response.status_code, response.json)
    for response in (client.get(f"/manage/{token}"), client.post(f"/manage/{token}/cancel"),
                     client.post(f"/manage/{token}/reschedule", data=start)):
        assert response.status_code == 403, response.status_code
        assert "Pat" not in response.get_data(as_text=True)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_link_cannot_be_made_without_the_secret_or_moved_to_another_booking(booking):
    ana, ben = book_two(booking)
    links = booking.container.lifecycle.links
    forgeries = {
        # Issue 14 finding 4: a booking made now has a random secret; the old signature, even made
        # with our own key, no longer opens it (before the fix this was the link itself).
        "the old-style signed token of a new booking": links.legacy_token_for(ben["id"]),
        "Ben's booking id written into an old-style token": f"{b64(json.dumps({'booking': ben['id']}).encode())}.x",
        "signed by another clinic's secret": URLSafeSerializer("another-clinic-secret", salt=MANAGE_SALT).dumps({"booking": ben["id"]}),
        "our secret for another purpose": URLSafeSerializer(booking.container.config.secret_key).dumps({"booking": ben["id"]}),
        "Ana's secret with one character changed": ana["token"][:-1] + ("A" if ana["token"][-1] != "A" else "B"),
        "the booking id": ben["id"],
        "a staff bearer token": booking.tokens["admin"],
    }
    for name, forged in forgeries.items():
        assert forged not in (ana["token"], ben["token"]), name
        refused_everywhere(booking, forged)
    assert status_of(booking, ana["id"]) == status_of(booking, ben["id"]) == "booked"

    cancelled = booking.client.post(f"{API}/manage/{ana['token']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["id"] == ana["id"]
    assert status_of(booking, ben["id"]) == "booked", "Ana's link acts on Ana's booking only"


def test_a_link_stops_working_for_every_action_once_the_appointment_is_over(booking, clock):
    ana, ben = book_two(booking)
    clock.now = datetime.fromisoformat(ana["end"]).astimezone(timezone.utc)
    refused_everywhere(booking, ana["token"])
    assert status_of(booking, ana["id"]) == "booked", "nothing changed"
    assert booking.client.get(f"{API}/manage/{ben['token']}").status_code == 200, "a later booking's link still works"


def test_a_cancelled_booking_shows_its_state_but_cannot_be_cancelled_or_moved_again(booking):
    ana, _ben = book_two(booking)
    assert booking.client.post(f"{API}/manage/{ana['token']}/cancel").status_code == 200
    shown = booking.client.get(f"{API}/manage/{ana['token']}")
    assert shown.status_code == 200 and shown.json["status"] == "cancelled"
    again = booking.client.post(f"{API}/manage/{ana['token']}/cancel")
    moved = booking.client.post(f"{API}/manage/{ana['token']}/reschedule", json={"start": ana["start"]})
    assert again.status_code == moved.status_code == 409
    assert again.json["code"] == moved.json["code"] == "invalid_status_change"


def test_manage_tokens_never_reach_the_request_log(booking, caplog):
    ana, _ben = book_two(booking)
    caplog.set_level(logging.DEBUG)
    booking.client.get(f"{API}/manage/{ana['token']}")
    booking.client.get(f"/manage/{ana['token']}")
    booking.client.post(f"{API}/manage/{ana['token']}/cancel")
    routes = [record.route for record in caplog.records if record.name == "kapbook.http"]
    assert f"{API}/manage/<string:token>" in routes and "/manage/<string:token>" in routes, routes
    everything = " ".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert ana["token"] not in everything


# --- issue 14 finding 4: random secrets stored hashed, old links of old bookings, rotation --------

def secret_rows(booking) -> list[dict]:
    with booking.container.runtime.sessions() as session:
        return [dict(row) for row in session.execute(select(tables.manage_link_secrets)).mappings()]


def make_old(booking, booking_id: str) -> None:
    """What a booking made before migration 0012 looks like: no stored secret at all."""
    with booking.container.runtime.sessions.begin() as session:
        session.execute(delete(tables.manage_link_secrets).where(tables.manage_link_secrets.c.booking_id == booking_id))


def test_a_link_is_32_random_bytes_and_only_its_sha256_is_stored(booking):
    ana, ben = book_two(booking)
    assert len(ana["token"]) == 43 and "." not in ana["token"], "token_urlsafe(32), not a signature"
    stored = {row["secret_sha256"]: row["booking_id"] for row in secret_rows(booking)}
    assert stored[hashlib.sha256(ana["token"].encode()).hexdigest()] == ana["id"]
    assert stored[hashlib.sha256(ben["token"].encode()).hexdigest()] == ben["id"]
    everything = repr(secret_rows(booking))
    assert ana["token"] not in everything and ben["token"] not in everything
    shown = booking.client.get(f"{API}/manage/{ana['token']}")
    assert shown.status_code == 200 and shown.json["id"] == ana["id"]


def test_an_old_booking_still_opens_with_its_old_signed_link_and_only_an_old_one_does(booking):
    ana, ben = book_two(booking)
    links = booking.container.lifecycle.links
    make_old(booking, ana["id"])
    old = booking.client.get(f"{API}/manage/{links.legacy_token_for(ana['id'])}")
    assert old.status_code == 200 and old.json["id"] == ana["id"]
    assert booking.client.get(f"/manage/{links.legacy_token_for(ana['id'])}").status_code == 200
    refused_everywhere(booking, links.legacy_token_for(ben["id"]))


def test_rotation_ends_every_link_at_once_and_the_new_one_works(booking):
    ana, ben = book_two(booking)
    links = booking.container.lifecycle.links
    make_old(booking, ben["id"])
    old_signed = links.legacy_token_for(ben["id"])
    for person, old_tokens in ((ana, [ana["token"]]), (ben, [ben["token"], old_signed])):
        unauthorised = booking.client.post(f"{API}/bookings/{person['id']}/rotate-manage-link")
        assert unauthorised.status_code == 401
        rotated = booking.client.post(f"{API}/bookings/{person['id']}/rotate-manage-link", headers=booking.staff_headers("admin"))
        assert rotated.status_code == 200, rotated.json
        new_token = rotated.json["manage_url"].rsplit("/", 1)[1]
        assert new_token not in old_tokens
        for old in old_tokens:
            refused_everywhere(booking, old)
        assert booking.client.get(f"{API}/manage/{new_token}").json["id"] == person["id"]
    with booking.container.runtime.sessions() as session:
        audited = session.execute(select(booking.container.runtime.tables["audit_log"])).mappings().all()
    assert {row["target"] for row in audited if row["action"] == "booking.rotate_manage_link"} == {ana["id"], ben["id"]}


def test_rotation_tells_the_patient_the_new_link_through_the_outbox(booking):
    """One manage_link_replaced event per rotation, carrying the link staff were shown (reminders emails it)."""
    from kapbook_platform.contracts import EventType

    ana, _ben = book_two(booking)
    rotated = booking.client.post(f"{API}/bookings/{ana['id']}/rotate-manage-link", headers=booking.staff_headers("admin"))
    assert rotated.status_code == 200, rotated.json
    outbox = booking.container.runtime.tables["outbox"]
    with booking.container.runtime.engine.connect() as connection:
        envelopes = [row.envelope for row in connection.execute(
            select(outbox.c.envelope).where(outbox.c.type == EventType.BOOKING_MANAGE_LINK_REPLACED))]
    assert [e["data"]["booking_id"] for e in envelopes] == [ana["id"]]
    data = envelopes[0]["data"]
    assert data["manage_url"] == rotated.json["manage_url"] and data["status"] == "booked"
    assert data["patient"]["email"] == "ana@example.org"


def test_the_manage_answers_carry_no_email_or_phone(booking):
    ana, _ben = book_two(booking)
    shown = booking.client.get(f"{API}/manage/{ana['token']}")
    assert shown.json["patient"] == {"name": "Ana", "timezone": "Europe/Berlin"}
    assert "ana@example.org" not in shown.get_data(as_text=True)
    cancelled = booking.client.post(f"{API}/manage/{ana['token']}/cancel")
    assert cancelled.status_code == 200 and set(cancelled.json["patient"]) == {"name", "timezone"}
    assert "ana@example.org" not in cancelled.get_data(as_text=True)
    staff_view = booking.client.get(f"{API}/bookings/{ana['id']}", headers=booking.staff_headers("admin"))
    assert staff_view.json["patient"]["email"] == "ana@example.org", "staff still see it"


def test_the_console_button_replaces_the_link_and_shows_the_new_one_once(booking):
    ana, _ben = book_two(booking)
    member = add_test_staff_member(booking.container.runtime.sessions, "front_desk")
    console = booking.app.test_client()
    assert console_sign_in(console, member["email"], member["password"]).status_code == 303
    page = console.get(f"/staff/bookings/{ana['id']}").get_data(as_text=True)
    assert "Replace the manage link" in page and ana["token"] not in page
    answer = console.post(f"/staff/bookings/{ana['id']}/rotate-manage-link",
                          data={"csrf_token": csrf_of(console, f"/staff/bookings/{ana['id']}")})
    assert answer.status_code == 200
    new_url = re.search(r"<code data-new-manage-url>([^<]+)</code>", answer.get_data(as_text=True)).group(1)
    refused_everywhere(booking, ana["token"])
    assert booking.client.get(f"{API}/manage/{new_url.rsplit('/', 1)[1]}").json["id"] == ana["id"]
    assert "data-new-manage-url" not in console.get(f"/staff/bookings/{ana['id']}").get_data(as_text=True), "shown once"


def test_migration_0012_up_from_0008_keeps_old_bookings_working_with_their_old_links(booking):
    """A booking made before 0012 (here: made, then the schema taken back to 0008 and up again) has no
    secret to backfill; its old signed link opens it, and rotation then ends that link."""
    from alembic import command
    from sqlalchemy import inspect

    from kapbook_platform.runtime import alembic_config

    ana, _ben = book_two(booking)
    config = alembic_config(booking.container.runtime, tables.metadata, "kapbook_booking.adapters.migrations")
    command.downgrade(config, "0008")
    assert "manage_link_secrets" not in inspect(booking.container.runtime.engine).get_table_names()
    command.upgrade(config, "head")
    assert secret_rows(booking) == []
    old = booking.container.lifecycle.links.legacy_token_for(ana["id"])
    assert booking.client.get(f"{API}/manage/{old}").json["id"] == ana["id"]
    refused_everywhere(booking, ana["token"])  # its 0012 secret went with the downgrade
    rotated = booking.client.post(f"{API}/bookings/{ana['id']}/rotate-manage-link", headers=booking.staff_headers("admin"))
    assert rotated.status_code == 200
    refused_everywhere(booking, old)
