"""Staff accounts with a password: the admin API, the policy's 422, the argon2id hash at rest, the CLI;
API tokens: expiry, listing and revoking (CLI and console)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.adapters.passwords import verify_password
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_booking.entrypoints.cli import cli as booking_cli
from kapbook_booking.service_layer.staff import issue_staff_token
from kapbook_platform.staff.signing import DEVELOPMENT_SIGNING_KEY
from support.clinic import add_test_staff_member, console_sign_in, csrf_of
from support.clock import TravellingClock

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
GOOD = "Tulip-Ferry-Quartz-91"


def stored(service, email: str) -> dict:
    with service.runtime.engine.connect() as connection:
        return dict(connection.execute(select(t.staff_members).where(t.staff_members.c.email == email)).mappings().one())


def test_an_admin_creates_a_staff_account_whose_password_is_stored_only_as_an_argon2id_hash(client, service, staff):
    body = {"name": "Dr Ana Ruiz", "email": "Ana.Ruiz@clinic.example", "role": "clinician", "password": GOOD}
    created = client.post(f"{API}/staff-members", json=body, headers=staff["admin"])
    assert created.status_code == 201, created.json
    assert created.json["email"] == "ana.ruiz@clinic.example" and created.json["has_password"] is True
    assert "password" not in created.json and "password_hash" not in created.json
    row = stored(service, "ana.ruiz@clinic.example")
    assert row["password_hash"].startswith("$argon2id$") and GOOD not in row["password_hash"]
    assert verify_password(row["password_hash"], GOOD)
    listed = client.get(f"{API}/staff-members", headers=staff["admin"]).json
    assert [member["email"] for member in listed] == ["ana.ruiz@clinic.example"]
    audit = t.PLATFORM_TABLES["audit_log"]
    with service.runtime.engine.connect() as connection:
        rows = list(connection.execute(select(audit).where(audit.c.action == "staff_member.created")).mappings())
    assert len(rows) == 1 and rows[0]["actor"] == "staff-admin"
    assert GOOD not in str(rows[0]["detail"]) and "password" in rows[0]["detail"]["fields"]


@pytest.mark.parametrize("password, reason", [("short-pw", "at least 12 characters"),
                                              ("Password2024!", "most common passwords"),
                                              ("1234567890123", "run of neighbouring")])
def test_an_easy_password_is_a_422_that_says_why_and_nothing_is_created(client, service, staff, password, reason):
    body = {"name": "Dr Ana Ruiz", "email": "ana@clinic.example", "role": "clinician", "password": password}
    refused = client.post(f"{API}/staff-members", json=body, headers=staff["admin"])
    assert refused.status_code == 422, refused.json
    assert refused.json["code"] == "weak_password" and reason in refused.json["errors"]["password"][0]
    assert reason in refused.json["message"]
    assert client.get(f"{API}/staff-members", headers=staff["admin"]).json == []


def test_a_second_account_with_the_same_email_is_a_409(client, staff):
    body = {"name": "Dr Ana Ruiz", "email": "ana@clinic.example", "role": "clinician", "password": GOOD}
    assert client.post(f"{API}/staff-members", json=body, headers=staff["admin"]).status_code == 201
    again = client.post(f"{API}/staff-members", json=body | {"email": "ANA@clinic.example"}, headers=staff["admin"])
    assert again.status_code == 409 and again.json["code"] == "staff_exists"


@pytest.mark.parametrize("role", ["clinician", "front_desk"])
def test_only_admins_manage_staff_accounts(client, staff, role):
    body = {"name": "Eve", "email": "eve@clinic.example", "role": "admin", "password": GOOD}
    assert client.post(f"{API}/staff-members", json=body, headers=staff[role]).status_code == 403
    assert client.get(f"{API}/staff-members", headers=staff[role]).status_code == 403
    assert client.get(f"{API}/staff-members").status_code == 401


def test_create_staff_sets_a_password_read_from_stdin_and_still_prints_a_token(service, cli_env):
    result = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Dr Ana Ruiz", "--email", "ana@clinic.example",
                                              "--role", "clinician", "--password-stdin"], input=GOOD + "\n")
    assert result.exit_code == 0, result.output
    assert "Password set." in result.output and GOOD not in result.output
    assert result.output.strip().splitlines()[-1].startswith("kbs_")
    assert verify_password(stored(service, "ana@clinic.example")["password_hash"], GOOD)


def test_create_staff_asks_for_the_password_twice_when_prompted(service, cli_env):
    result = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Dr Ana Ruiz", "--email", "ana@clinic.example",
                                              "--role", "clinician", "--password"], input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert verify_password(stored(service, "ana@clinic.example")["password_hash"], GOOD)


def test_create_staff_refuses_a_weak_password_before_creating_anything(service, cli_env):
    result = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Dr Ana Ruiz", "--email", "ana@clinic.example",
                                              "--role", "clinician", "--password-stdin"], input="password1234\n")
    assert result.exit_code == 2 and "most common passwords" in result.output
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(t.staff_members)).first() is None


def test_create_staff_without_a_password_option_works_as_before(service, cli_env):
    result = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Demo Admin", "--email", "admin@clinic.example",
                                              "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("kbs_")
    assert stored(service, "admin@clinic.example")["password_hash"] is None


def test_set_password_changes_an_existing_members_password_and_refuses_an_unknown_email(service, cli_env):
    CliRunner().invoke(booking_cli, ["create-staff", "--name", "Demo Admin", "--email", "admin@clinic.example", "--role", "admin"])
    changed = CliRunner().invoke(booking_cli, ["set-password", "--email", "admin@clinic.example", "--password-stdin"], input=GOOD + "\n")
    assert changed.exit_code == 0, changed.output
    assert verify_password(stored(service, "admin@clinic.example")["password_hash"], GOOD)
    unknown = CliRunner().invoke(booking_cli, ["set-password", "--email", "nobody@clinic.example", "--password-stdin"], input=GOOD + "\n")
    assert unknown.exit_code == 1 and "No staff member has this email" in unknown.output


# --- API tokens: expiry, list, revoke --------------------------------------------------------


def new_token(result) -> str:
    return result.output.strip().splitlines()[-1]


def test_tokens_expire_listed_and_revoked_by_the_cli_and_refused_at_once(service, cli_env, client):
    made = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Int Egration", "--email", "int@clinic.example",
                                            "--role", "front_desk", "--expires-days", "30"])
    assert made.exit_code == 0 and "expires in 30 days" in made.output
    token = new_token(made)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/locations", headers=headers).status_code == 200
    credentials = t.PLATFORM_TABLES["staff_credentials"]
    with service.runtime.engine.connect() as connection:
        row = connection.execute(select(credentials)).mappings().one()
    assert timedelta(days=29, hours=23) < row["expires_at"] - row["issued_at"] <= timedelta(days=30)
    listed = CliRunner().invoke(booking_cli, ["list-tokens"])
    assert listed.exit_code == 0 and row["credential_id"] in listed.output and "active" in listed.output
    assert token not in listed.output and "int@clinic.example" in listed.output
    revoked = CliRunner().invoke(booking_cli, ["revoke-token", row["credential_id"]])
    assert revoked.exit_code == 0, revoked.output
    assert client.get(f"{API}/locations", headers=headers).status_code == 401
    assert "revoked" in CliRunner().invoke(booking_cli, ["list-tokens"]).output
    outbox = t.PLATFORM_TABLES["outbox"]
    with service.runtime.engine.connect() as connection:
        events = [r.envelope["data"] for r in connection.execute(select(outbox.c.envelope).where(
            outbox.c.type == "kapbook.staff.credential_revoked.v1"))]
    assert [event["credential_id"] for event in events] == [row["credential_id"]]
    unknown = CliRunner().invoke(booking_cli, ["revoke-token", "no-such-token"])
    assert unknown.exit_code == 1 and "No API token has this id" in unknown.output


def test_a_token_past_its_expiry_is_401(tmp_path, db, database_factory):
    clock = TravellingClock()
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test"), clock=clock)
    container.migrate()
    try:
        issued = issue_staff_token(container.runtime.sessions, container.runtime.outbox, "Int", "int@clinic.example",
                                   "admin", clock(), expires_at=clock() + timedelta(days=1),
                                   signing_key=DEVELOPMENT_SIGNING_KEY)
        app_client = create_app(container).test_client()
        headers = {"Authorization": f"Bearer {issued.token}"}
        assert app_client.get(f"{API}/locations", headers=headers).status_code == 200
        clock.advance(days=1)
        assert app_client.get(f"{API}/locations", headers=headers).status_code == 401
    finally:
        container.runtime.engine.dispose()


def test_an_admin_revokes_a_token_in_the_console(service, client):
    admin = add_test_staff_member(service.runtime.sessions, "admin")
    issued = issue_staff_token(service.runtime.sessions, service.runtime.outbox, "Int", "int@clinic.example", "front_desk",
                               service.clock(), expires_at=service.clock() + timedelta(days=90),
                               signing_key=DEVELOPMENT_SIGNING_KEY)
    console_sign_in(client, admin["email"])
    page = client.get("/staff/credentials").get_data(as_text=True)
    assert issued.credential_id in page and issued.token not in page
    assert "console-" not in page, "console session delegates are not API tokens"
    done = client.post(f"/staff/credentials/{issued.credential_id}/revoke", data={"csrf_token": csrf_of(client, "/staff/credentials")})
    assert done.status_code == 303
    assert create_app(service).test_client().get(f"{API}/locations", headers={"Authorization": f"Bearer {issued.token}"}).status_code == 401
    assert "Revoked" in client.get("/staff/credentials").get_data(as_text=True)
