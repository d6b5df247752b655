"""Staff accounts with a password: the admin API, the policy's 422, the argon2id hash at rest, the CLI."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.adapters.passwords import verify_password
from kapbook_booking.entrypoints.cli import cli as booking_cli

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


@pytest.fixture
def cli_env(service, monkeypatch):
    """The CLI's bootstrap reads the environment: point it at the test's database."""
    monkeypatch.setenv("BOOKING_DATABASE_URL", service.runtime.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KAPBOOK_VAR_DIR", str(service.config.var_dir))
    monkeypatch.setenv("KAPBOOK_ENV", "test")


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
