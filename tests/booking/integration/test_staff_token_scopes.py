"""Scoped API tokens in the booking service: chosen at issue by the CLI, stored, listed, sent signed
in the credential event, and enforced (403 insufficient_scope naming the scope); a token without
scopes (issued before them) keeps the role's full rights."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_booking.entrypoints.cli import cli as booking_cli
from kapbook_booking.service_layer.staff import issue_staff_token
from kapbook_platform.clock import utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.staff.signing import DEVELOPMENT_SIGNING_KEY, DEVELOPMENT_VERIFY_KEY, credential_data_is_signed
from support.clinic import add_test_staff_member, console_sign_in, csrf_of
from support.series import infusion_clinic, next_monday_at, series_body

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
LOCATION = {"name": "Annex", "timezone": "Europe/Berlin"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issued_event(service, credential_id: str) -> dict:
    outbox = t.PLATFORM_TABLES["outbox"]
    with service.runtime.engine.connect() as connection:
        events = [row.envelope["data"] for row in connection.execute(
            select(outbox.c.envelope).where(outbox.c.type == EventType.STAFF_CREDENTIAL_ISSUED))]
    return next(event for event in events if event["credential_id"] == credential_id)


def test_create_staff_issues_a_scoped_token_that_is_listed_signed_and_refused_outside_its_scopes(service, cli_env, client):
    made = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Int Egration", "--email", "int@clinic.example",
                                            "--role", "admin", "--scope", "bookings", "--scope", "read_only"])
    assert made.exit_code == 0, made.output
    assert "scopes bookings, read_only" in made.output
    token = made.output.strip().splitlines()[-1]
    credentials = t.PLATFORM_TABLES["staff_credentials"]
    with service.runtime.engine.connect() as connection:
        row = connection.execute(select(credentials)).mappings().one()
    assert row["scopes"] == ["read_only", "bookings"]
    event = issued_event(service, row["credential_id"])
    assert event["scopes"] == ["read_only", "bookings"] and credential_data_is_signed(DEVELOPMENT_VERIFY_KEY, event)
    assert "scopes read_only,bookings" in CliRunner().invoke(booking_cli, ["list-tokens"]).output

    assert client.get(f"{API}/locations", headers=bearer(token)).status_code == 200  # a read: any scope
    refused = client.post(f"{API}/locations", json=LOCATION, headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json == {"code": "insufficient_scope", "errors": {"scope": ["schedules"]},
                            "message": "This token's scopes do not allow this: it needs schedules."}
    # bookings is held: the staff cancel gets past the scope check (to the 422 of its empty body)
    passed = client.post(f"{API}/bookings/no-such-booking/cancel", json={}, headers=bearer(token))
    assert passed.status_code == 422, passed.json
    assert client.post(f"{API}/staff-members", json={}, headers=bearer(token)).json["code"] == "insufficient_scope"


def test_an_unknown_scope_is_refused_before_anything_is_created(service, cli_env):
    made = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Int Egration", "--email", "int@clinic.example",
                                            "--role", "admin", "--scope", "everything"])
    assert made.exit_code == 2 and "everything" in made.output
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(t.PLATFORM_TABLES["staff_credentials"])).first() is None


def test_a_token_without_scopes_keeps_the_roles_full_rights(service, client):
    issued = issue_staff_token(service.runtime.sessions, service.runtime.outbox, "Old Token", "old@clinic.example",
                               "admin", utc_now(), signing_key=DEVELOPMENT_SIGNING_KEY)
    assert issued_event(service, issued.credential_id).get("scopes") is None
    made = client.post(f"{API}/locations", json=LOCATION, headers=bearer(issued.token))
    assert made.status_code == 201, made.json


@pytest.fixture
def series_service(tmp_path, db, database_factory):
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                                        eligibility_url="http://127.0.0.1:1"))
    container.migrate()
    yield container
    container.runtime.engine.dispose()


def test_a_staff_series_override_needs_the_bookings_scope(series_service):
    clinic = infusion_clinic(series_service.runtime.sessions)
    monday = next_monday_at(clinic.zone, 10)
    client = create_app(series_service).test_client()

    def token(*scopes: str) -> str:
        return issue_staff_token(series_service.runtime.sessions, series_service.runtime.outbox, "Desk", "desk@clinic.example",
                                 "front_desk", utc_now(), signing_key=DEVELOPMENT_SIGNING_KEY, scopes=scopes).token

    body = series_body([monday + timedelta(days=i) for i in range(6)], override_reason="clinician asked for daily sessions")
    refused = client.post(f"{API}/series", json=body, headers=bearer(token("read_only", "schedules")))
    assert refused.status_code == 403 and refused.json["errors"] == {"scope": ["bookings"]}
    booked = client.post(f"{API}/series", json=body, headers=bearer(token("bookings")))
    assert booked.status_code == 201, booked.json


def test_an_admin_issues_a_scoped_token_in_the_console_shown_once_and_listed_with_its_scopes(service, client):
    admin = add_test_staff_member(service.runtime.sessions, "admin")
    desk = add_test_staff_member(service.runtime.sessions, "front_desk")
    console_sign_in(client, admin["email"])
    csrf = csrf_of(client, "/staff/credentials")
    none_ticked = client.post("/staff/credentials", data={"csrf_token": csrf, "staff_id": desk["id"], "expires_days": "30"})
    assert none_ticked.status_code == 422 and "at least one scope" in none_ticked.get_data(as_text=True)
    made = client.post("/staff/credentials", data={"csrf_token": csrf, "staff_id": desk["id"], "expires_days": "30",
                                                   "scopes": ["schedules", "read_only"]})
    assert made.status_code == 201
    token = re.search(r"<code data-new-token>(kbs_[^<]+)</code>", made.get_data(as_text=True)).group(1)
    listed = client.get("/staff/credentials").get_data(as_text=True)
    assert token not in listed and "read_only, schedules" in listed
    api = create_app(service).test_client()
    assert api.get(f"{API}/locations", headers=bearer(token)).status_code == 200
    assert api.post(f"{API}/bookings/no-such-booking/cancel", json={}, headers=bearer(token)).json["errors"] == {
        "scope": ["bookings"]}
    audit = service.runtime.tables["audit_log"]
    with service.runtime.engine.connect() as connection:
        row = connection.execute(select(audit).where(audit.c.action == "staff_token.issued")).mappings().one()
    assert row["actor"] == admin["id"] and row["detail"]["fields"] == ["read_only", "schedules"]
