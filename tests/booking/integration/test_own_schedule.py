"""Staff linked to clinicians: an admin links a clinician's account (API, console, CLI); the linked
clinician changes only their own hours, overrides and time off (403 ``not_your_schedule`` on anyone
else's) and sees their own calendar by default; time off over booked appointments is added, with a
warning listing them (times, first names, booking ids; nothing else about the patient)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from kapbook_booking.adapters import tables as t
from kapbook_booking.entrypoints.cli import cli as booking_cli
from kapbook_platform.runtime import alembic_config as platform_alembic_config
from kapbook_platform.staff.tokens import token_digest
from support.clinic import TEST_PASSWORD, add_test_staff_member, console_sign_in, csrf_of

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
UTC = timezone.utc
# Far enough ahead that "time off that has not ended" lists it whatever today is.
MONDAY = datetime(2031, 3, 10, tzinfo=UTC)


@pytest.fixture
def clinic(client, staff) -> dict:
    """A location, an appointment type and two clinicians: ``own`` (linked below) and ``other``."""
    def create(path, body):
        response = client.post(f"{API}/{path}", json=body, headers=staff["admin"])
        assert response.status_code == 201, response.json
        return response.json

    location = create("locations", {"name": "Manhattan", "timezone": "America/New_York"})
    create("appointment-types", {"code": "prep", "name": "Preparation", "category": "preparation",
                                 "duration_minutes": 50, "modality": "in_person"})
    own = create("clinicians", {"name": "Dr. Priya Shah", "role": "prescriber", "appointment_types": ["prep"]})
    other = create("clinicians", {"name": "Dr. Sam Cole", "role": "prescriber", "appointment_types": ["prep"]})
    for clinician in (own, other):
        create(f"clinicians/{clinician['id']}/working-hours",
               {"location_id": location["id"], "weekday": 0, "start_time": "09:00", "end_time": "17:00"})
    return {"location": location, "own": own, "other": other}


def new_member(client, staff, role="clinician", clinician_id=None, email=None) -> dict:
    body = {"name": "Dr. Priya Shah", "email": email or f"p-{uuid.uuid4().hex[:6]}@clinic.example", "role": role,
            "password": TEST_PASSWORD, "clinician_id": clinician_id}
    response = client.post(f"{API}/staff-members", json=body, headers=staff["admin"])
    assert response.status_code == 201, response.json
    return response.json


def bearer_of(service, member: dict) -> dict[str, str]:
    """A bearer token for an existing staff member (their id, their role)."""
    token = f"kbs_test_{uuid.uuid4().hex}"
    with service.runtime.sessions.begin() as session:
        session.execute(t.PLATFORM_TABLES["staff_credentials"].insert().values(
            credential_id=str(uuid.uuid4()), staff_id=member["id"], staff_name=member["name"], role=member["role"],
            token_sha256=token_digest(token), issued_at=datetime.now(UTC)))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def linked(client, staff, service, clinic) -> dict:
    """The bearer headers of the clinician whose account is linked to ``clinic["own"]``."""
    member = new_member(client, staff, clinician_id=clinic["own"]["id"])
    assert member["clinician_id"] == clinic["own"]["id"]
    return {"member": member, "headers": bearer_of(service, member)}


def book(service, clinic, clinician: dict, start: datetime, patient_name: str, status: str = "booked") -> str:
    booking_id = str(uuid.uuid4())
    type_id = next(iter(clinic_type_ids(service)))
    end = start + timedelta(minutes=50)
    with service.runtime.sessions.begin() as session:
        session.execute(t.bookings.insert().values(
            id=booking_id, appointment_type_id=type_id, clinician_id=clinician["id"], location_id=clinic["location"]["id"],
            start=start, end=end, blocked_start=start, blocked_end=end, status=status, sequence=0,
            patient_name=patient_name, patient_email="pat@example.org", patient_phone="+15550100",
            driver_confirmed=True, created_by="test", created_at=start, updated_at=start))
    return booking_id


def clinic_type_ids(service) -> list[str]:
    with service.runtime.engine.connect() as connection:
        return list(connection.execute(select(t.appointment_types.c.id)).scalars())


def schedule_path(clinic, whose: str, things: str) -> str:
    return f"{API}/clinicians/{clinic[whose]['id']}/{things}"


HOURS = {"weekday": 2, "start_time": "09:00", "end_time": "12:00"}
TIME_OFF = {"start": "2031-03-12T09:00:00Z", "end": "2031-03-12T13:00:00Z"}


# --- linking -----------------------------------------------------------------------------------------


def test_an_admin_links_and_unlinks_a_clinician_account_and_the_link_is_checked(client, staff, service, clinic):
    member = new_member(client, staff)
    path = f"{API}/staff-members/{member['id']}"
    linked = client.patch(path, json={"clinician_id": clinic["own"]["id"]}, headers=staff["admin"])
    assert linked.status_code == 200 and linked.json["clinician_id"] == clinic["own"]["id"]

    rival = new_member(client, staff)
    taken = client.patch(f"{API}/staff-members/{rival['id']}", json={"clinician_id": clinic["own"]["id"]}, headers=staff["admin"])
    assert taken.status_code == 409 and taken.json["code"] == "clinician_taken"
    desk = new_member(client, staff, role="front_desk")
    wrong_role = client.patch(f"{API}/staff-members/{desk['id']}", json={"clinician_id": clinic["other"]["id"]}, headers=staff["admin"])
    assert wrong_role.status_code == 422 and "clinician_id" in wrong_role.json["errors"]
    unknown = client.patch(path, json={"clinician_id": "no-such-clinician"}, headers=staff["admin"])
    assert unknown.status_code == 422 and "clinician_id" in unknown.json["errors"]
    assert client.patch(path, json={"clinician_id": None}, headers=staff["front_desk"]).status_code == 403
    assert client.patch(f"{API}/staff-members/nobody", json={"clinician_id": None}, headers=staff["admin"]).status_code == 404

    unlinked = client.patch(path, json={"clinician_id": None}, headers=staff["admin"])
    assert unlinked.status_code == 200 and unlinked.json["clinician_id"] is None
    audit = t.PLATFORM_TABLES["audit_log"]
    with service.runtime.engine.connect() as connection:
        actions = list(connection.execute(select(audit.c.action).where(audit.c.target == f"staff_member:{member['id']}")).scalars())
    assert actions.count("staff_member.clinician_linked") == 2


def test_create_staff_links_the_new_account_with_clinician_id(service, clinic, monkeypatch):
    monkeypatch.setenv("BOOKING_DATABASE_URL", service.runtime.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KAPBOOK_VAR_DIR", str(service.config.var_dir))
    monkeypatch.setenv("KAPBOOK_ENV", "test")
    result = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Dr. Sam Cole", "--email", "sam@clinic.example",
                                              "--role", "clinician", "--clinician-id", clinic["other"]["id"]])
    assert result.exit_code == 0, result.output
    with service.runtime.engine.connect() as connection:
        row = connection.execute(select(t.staff_members).where(t.staff_members.c.email == "sam@clinic.example")).mappings().one()
    assert row["clinician_id"] == clinic["other"]["id"]
    refused = CliRunner().invoke(booking_cli, ["create-staff", "--name", "Desk", "--email", "desk@clinic.example",
                                               "--role", "front_desk", "--clinician-id", clinic["own"]["id"]])
    assert refused.exit_code != 0 and "clinician role" in refused.output
    with service.runtime.engine.connect() as connection:  # refused before anything was created
        assert connection.execute(select(t.staff_members).where(t.staff_members.c.email == "desk@clinic.example")).first() is None


# --- own schedule only ---------------------------------------------------------------------------------


def test_a_linked_clinician_changes_their_own_hours_overrides_and_time_off(client, clinic, linked):
    headers = linked["headers"]
    hours = client.post(schedule_path(clinic, "own", "working-hours"), json=HOURS | {"location_id": clinic["location"]["id"]},
                        headers=headers)
    assert hours.status_code == 201, hours.json
    assert client.patch(f"{API}/working-hours/{hours.json['id']}", json={"end_time": "12:30"}, headers=headers).status_code == 200
    assert client.delete(f"{API}/working-hours/{hours.json['id']}", headers=headers).status_code == 204
    override = client.post(schedule_path(clinic, "own", "overrides"),
                           json={"location_id": clinic["location"]["id"], "date": "2031-07-04"}, headers=headers)
    assert override.status_code == 201
    assert client.delete(f"{API}/overrides/{override.json['id']}", headers=headers).status_code == 204
    off = client.post(schedule_path(clinic, "own", "time-off"), json=TIME_OFF, headers=headers)
    assert off.status_code == 201 and off.json["overlapping_bookings"] == [] and off.json["warning"] is None
    assert client.delete(f"{API}/time-off/{off.json['id']}", headers=headers).status_code == 204


def test_another_clinicians_schedule_is_403_not_your_schedule_and_admins_and_front_desk_keep_their_rights(
        client, staff, clinic, linked):
    headers = linked["headers"]
    location = clinic["location"]["id"]
    theirs = {
        "hours": client.post(schedule_path(clinic, "other", "working-hours"), json=HOURS | {"location_id": location},
                             headers=staff["front_desk"]).json["id"],
        "override": client.post(schedule_path(clinic, "other", "overrides"), json={"location_id": location, "date": "2031-07-04"},
                                headers=staff["admin"]).json["id"],
        "time_off": client.post(schedule_path(clinic, "other", "time-off"), json=TIME_OFF, headers=staff["front_desk"]).json["id"],
    }
    refusals = [
        client.post(schedule_path(clinic, "other", "working-hours"), json=HOURS | {"location_id": location, "weekday": 3},
                    headers=headers),
        client.patch(f"{API}/working-hours/{theirs['hours']}", json={"end_time": "12:30"}, headers=headers),
        client.delete(f"{API}/working-hours/{theirs['hours']}", headers=headers),
        client.post(schedule_path(clinic, "other", "overrides"), json={"location_id": location, "date": "2031-07-05"}, headers=headers),
        client.delete(f"{API}/overrides/{theirs['override']}", headers=headers),
        client.post(schedule_path(clinic, "other", "time-off"), json=TIME_OFF, headers=headers),
        client.delete(f"{API}/time-off/{theirs['time_off']}", headers=headers),
    ]
    assert [(r.status_code, r.json["code"]) for r in refusals] == [(403, "not_your_schedule")] * len(refusals)
    # Nothing changed; reading the other's schedule stays open to every staff role.
    listed = client.get(schedule_path(clinic, "other", "working-hours"), headers=headers)
    assert listed.status_code == 200 and {row["weekday"] for row in listed.json} == {0, 2}
    assert len(client.get(schedule_path(clinic, "other", "time-off"), headers=headers).json) == 1
    # An unlinked clinician changes no schedule at all; front desk and admins change anyone's.
    assert client.post(schedule_path(clinic, "own", "time-off"), json=TIME_OFF, headers=staff["clinician"]).json["code"] == "not_your_schedule"
    assert client.delete(f"{API}/time-off/{theirs['time_off']}", headers=staff["front_desk"]).status_code == 204
    assert client.post(schedule_path(clinic, "own", "time-off"), json=TIME_OFF, headers=staff["admin"]).status_code == 201


# --- time off over booked appointments -----------------------------------------------------------------------


def test_time_off_over_booked_appointments_is_added_with_a_warning_listing_them(client, service, clinic, linked):
    first = book(service, clinic, clinic["own"], datetime(2031, 3, 12, 9, 30, tzinfo=UTC), "Maria Lopez Garcia")
    second = book(service, clinic, clinic["own"], datetime(2031, 3, 12, 12, 30, tzinfo=UTC), "Jon Smith")  # ends after
    book(service, clinic, clinic["own"], datetime(2031, 3, 12, 10, 30, tzinfo=UTC), "Ann Gone", status="cancelled")
    book(service, clinic, clinic["own"], datetime(2031, 3, 12, 14, 0, tzinfo=UTC), "Kim Later")  # outside
    book(service, clinic, clinic["other"], datetime(2031, 3, 12, 11, 0, tzinfo=UTC), "Lee Other")  # someone else's

    added = client.post(schedule_path(clinic, "own", "time-off"), json=TIME_OFF, headers=linked["headers"])
    assert added.status_code == 201, added.json
    assert added.json["overlapping_bookings"] == [
        {"booking_id": first, "start": "2031-03-12T09:30:00+00:00", "end": "2031-03-12T10:20:00+00:00", "patient_first_name": "Maria"},
        {"booking_id": second, "start": "2031-03-12T12:30:00+00:00", "end": "2031-03-12T13:20:00+00:00", "patient_first_name": "Jon"},
    ]
    assert added.json["warning"] == ("2 appointments fall in this time off: 2031-03-12 09:30 UTC Maria, "
                                     "2031-03-12 12:30 UTC Jon; reschedule or cancel them.")
    body = added.get_data(as_text=True)
    assert not any(private in body for private in ("Lopez", "Smith", "pat@example.org", "+15550100"))
    assert len(client.get(schedule_path(clinic, "own", "time-off"), headers=linked["headers"]).json) == 1


# --- the console ------------------------------------------------------------------------------------------------


def test_in_the_console_a_clinician_edits_their_own_time_off_sees_the_warning_and_is_refused_elsewhere(
        client, service, clinic, linked):
    book(service, clinic, clinic["own"], datetime(2031, 3, 12, 9, 30, tzinfo=UTC), "Maria Lopez")
    assert console_sign_in(client, linked["member"]["email"]).status_code == 303
    calendar = client.get("/staff/calendar")
    assert calendar.status_code == 302 and f"subject={clinic['own']['id']}" in calendar.headers["Location"]
    assert "view=week" in calendar.headers["Location"]

    own_page = f"/staff/clinicians/{clinic['own']['id']}"
    form = {"csrf_token": csrf_of(client, own_page), "tz": "UTC", "start_date": "2031-03-12", "start_time": "09:00",
            "end_date": "2031-03-12", "end_time": "13:00", "reason": ""}
    added = client.post(f"{own_page}/time-off", data=form)
    assert added.status_code == 303 and "overlaps=" in added.headers["Location"]
    shown = client.get(added.headers["Location"]).get_data(as_text=True)
    assert 'id="time-off-warning"' in shown and "1 appointment falls in this time off" in shown
    assert "Maria" in shown and "Lopez" not in shown

    other_page = f"/staff/clinicians/{clinic['other']['id']}"
    assert "You can see this schedule" in client.get(other_page).get_data(as_text=True)
    refused = client.post(f"{other_page}/time-off", data=form | {"csrf_token": csrf_of(client, other_page)})
    assert refused.status_code == 403 and "own schedule" in refused.get_data(as_text=True)


def test_an_admin_links_a_clinician_account_in_the_team_page(client, service, staff, clinic):
    admin = add_test_staff_member(service.runtime.sessions, "admin")
    member = new_member(client, staff)
    assert console_sign_in(client, admin["email"]).status_code == 303
    page = client.get("/staff/team").get_data(as_text=True)
    assert f'id="link-{member["id"]}"' in page
    saved = client.post(f"/staff/team/{member['id']}/clinician",
                        data={"csrf_token": csrf_of(client, "/staff/team"), "clinician_id": clinic["own"]["id"]})
    assert saved.status_code == 303
    members = {row["id"]: row for row in client.get(f"{API}/staff-members", headers=staff["admin"]).json}
    assert members[member["id"]]["clinician_id"] == clinic["own"]["id"]


# --- migration 0011 --------------------------------------------------------------------------------------------


def test_migration_0011_makes_a_clinician_record_linkable_to_one_account_only_and_downgrades(service, clinic):
    def unique_indexes() -> set[str]:
        return {index["name"] for index in inspect(service.runtime.engine).get_indexes("staff_members") if index["unique"]}

    def insert_member(email: str) -> None:
        with service.runtime.sessions.begin() as session:
            session.execute(t.staff_members.insert().values(id=str(uuid.uuid4()), name="X", email=email, role="clinician",
                                                            clinician_id=clinic["own"]["id"], created_at=datetime.now(UTC)))

    assert "ux_staff_members_clinician_id" in unique_indexes()
    insert_member("first@clinic.example")
    with pytest.raises(IntegrityError):
        insert_member("second@clinic.example")
    config = platform_alembic_config(service.runtime, t.metadata, "kapbook_booking.adapters.migrations")
    command.downgrade(config, "0008")
    assert "ux_staff_members_clinician_id" not in unique_indexes()
    command.upgrade(config, "head")
    assert "ux_staff_members_clinician_id" in unique_indexes()
