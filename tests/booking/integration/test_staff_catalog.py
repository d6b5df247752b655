"""Staff APIs for locations, rooms, appointment types and clinicians: CRUD, validation, roles, audit."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kapbook_booking.adapters import tables as t

pytestmark = pytest.mark.integration
API = "/api/booking/v1"


def audit_rows(service, target: str | None = None) -> list[dict]:
    audit = t.PLATFORM_TABLES["audit_log"]
    query = select(audit).order_by(audit.c.id)
    if target is not None:
        query = query.where(audit.c.target == target)
    with service.runtime.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def insert_booking(service, type_id: str, clinician_id: str, location_id: str, room_id: str | None = None) -> str:
    """A booking row straight in the table: these tests are about what refers to it."""
    start = datetime(2031, 5, 6, 14, tzinfo=timezone.utc)
    booking_id = str(uuid.uuid4())
    with service.runtime.sessions.begin() as session:
        session.execute(t.bookings.insert().values(
            id=booking_id, appointment_type_id=type_id, clinician_id=clinician_id, location_id=location_id,
            room_id=room_id, start=start, end=start + timedelta(minutes=50), blocked_start=start,
            blocked_end=start + timedelta(minutes=50), status="booked", sequence=0, driver_confirmed=False,
            created_by="test", created_at=start, updated_at=start))
    return booking_id


def create(client, staff, path: str, body: dict) -> dict:
    response = client.post(f"{API}/{path}", json=body, headers=staff["admin"])
    assert response.status_code == 201, response.json
    return response.json


def type_body(**fields) -> dict:
    return {"code": "iv-infusion", "name": "IV ketamine infusion", "category": "dosing_iv", "duration_minutes": 50,
            "buffer_before_minutes": 15, "buffer_after_minutes": 45, "min_notice_minutes": 2880, "horizon_days": 90,
            "slot_step_minutes": 30, "modality": "in_person", "room_kind": "infusion_chair",
            "requires_eligibility": True, "requires_driver": True, "cancel_notice_hours": 48,
            "reschedule_notice_hours": 48} | fields


@pytest.fixture
def clinic(client, staff) -> dict:
    """A location with an infusion chair, an infusion type and a nurse who delivers it."""
    location = create(client, staff, "locations", {"name": "Manhattan", "timezone": "America/New_York"})
    chair = create(client, staff, "rooms", {"location_id": location["id"], "name": "Chair 1", "kind": "infusion_chair"})
    kind = create(client, staff, "appointment-types", type_body())
    nurse = create(client, staff, "clinicians",
                   {"name": "Grace Okafor, RN", "role": "nurse", "appointment_types": ["iv-infusion"]})
    return {"location": location, "chair": chair, "type": kind, "nurse": nurse}


# --- locations -------------------------------------------------------------------------------


def test_admin_creates_reads_changes_and_deletes_a_location_and_each_write_is_audited(client, staff, service):
    created = create(client, staff, "locations", {"name": "Santa Monica", "timezone": "America/Los_Angeles"})
    assert created == {"id": created["id"], "name": "Santa Monica", "timezone": "America/Los_Angeles", "address": None}
    path = f"{API}/locations/{created['id']}"

    changed = client.patch(path, json={"address": "1450 Ocean Ave"}, headers=staff["admin"])
    assert changed.status_code == 200 and changed.json["address"] == "1450 Ocean Ave"
    assert changed.json["timezone"] == "America/Los_Angeles", "a PATCH leaves other fields alone"
    assert client.get(path, headers=staff["front_desk"]).json == changed.json
    assert [row["name"] for row in client.get(f"{API}/locations", headers=staff["clinician"]).json] == ["Santa Monica"]
    assert client.delete(path, headers=staff["admin"]).status_code == 204
    assert client.get(path, headers=staff["admin"]).status_code == 404

    rows = audit_rows(service, f"location:{created['id']}")
    assert [row["action"] for row in rows] == ["location.created", "location.updated", "location.deleted"]
    assert {row["actor"] for row in rows} == {"staff-admin"}
    assert rows[1]["detail"]["fields"] == ["address"], "the audit names fields, not their content"
    assert "1450" not in str(rows)


def test_a_patch_that_changes_nothing_writes_no_audit_row(client, staff, service):
    created = create(client, staff, "locations", {"name": "Manhattan", "timezone": "America/New_York"})
    response = client.patch(f"{API}/locations/{created['id']}", json={"name": "Manhattan"}, headers=staff["admin"])
    assert response.status_code == 200
    assert [row["action"] for row in audit_rows(service)] == ["location.created"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"name": "X", "timezone": "EST5EDT "}, "timezone"),
        ({"name": "", "timezone": "UTC"}, "name"),
        ({"timezone": "UTC"}, "name"),
        ({"name": "X", "timezone": "UTC", "colour": "blue"}, "colour"),
    ],
)
def test_an_invalid_location_is_422_naming_the_field(client, staff, body, field):
    response = client.post(f"{API}/locations", json=body, headers=staff["admin"])
    assert response.status_code == 422
    assert response.json["code"] == "validation_error" and field in response.json["errors"]


def test_a_location_in_use_is_not_deleted_and_the_409_says_by_what(client, staff, clinic):
    response = client.delete(f"{API}/locations/{clinic['location']['id']}", headers=staff["admin"])
    assert response.status_code == 409
    assert response.json["code"] == "in_use" and "rooms: 1" in response.json["message"]


# --- roles ---------------------------------------------------------------------------------------


def test_anonymous_callers_get_401_and_unknown_tokens_too(client):
    for response in (
        client.get(f"{API}/locations"),
        client.post(f"{API}/locations", json={"name": "X", "timezone": "UTC"}),
        client.get(f"{API}/clinicians", headers={"Authorization": "Bearer kbs_not_a_token"}),
    ):
        assert response.status_code == 401
        assert response.json["code"] == "unauthorized" and response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_only_admins_change_the_catalogue(client, staff, clinic, role):
    writes = [
        client.post(f"{API}/locations", json={"name": "X", "timezone": "UTC"}, headers=staff[role]),
        client.patch(f"{API}/rooms/{clinic['chair']['id']}", json={"active": False}, headers=staff[role]),
        client.post(f"{API}/appointment-types", json=type_body(code="other"), headers=staff[role]),
        client.delete(f"{API}/clinicians/{clinic['nurse']['id']}", headers=staff[role]),
    ]
    assert [response.status_code for response in writes] == [403] * 4
    assert writes[0].json["code"] == "forbidden"
    assert client.get(f"{API}/rooms", headers=staff[role]).status_code == 200, "every staff role reads"


def test_authentication_comes_before_validation(client):
    assert client.post(f"{API}/appointment-types", json={"nonsense": True}).status_code == 401


# --- rooms and chairs ------------------------------------------------------------------------------


def test_rooms_belong_to_an_existing_location_and_have_a_well_formed_kind(client, staff, clinic):
    unknown = client.post(f"{API}/rooms", json={"location_id": "nope", "name": "Chair", "kind": "infusion_chair"},
                          headers=staff["admin"])
    assert unknown.status_code == 422 and "location_id" in unknown.json["errors"]
    body = {"location_id": clinic["location"]["id"], "name": "C", "kind": "Infusion Chair"}
    badly_named = client.post(f"{API}/rooms", json=body, headers=staff["admin"])
    assert badly_named.status_code == 422 and "kind" in badly_named.json["errors"]
    moved = client.patch(f"{API}/rooms/{clinic['chair']['id']}", json={"location_id": "x"}, headers=staff["admin"])
    assert moved.status_code == 422, "a room does not move between locations"


def test_rooms_are_listed_per_location_and_can_be_deactivated(client, staff, clinic):
    other = create(client, staff, "locations", {"name": "Elsewhere", "timezone": "UTC"})
    create(client, staff, "rooms", {"location_id": other["id"], "name": "Room B", "kind": "dosing_room"})
    here = client.get(f"{API}/rooms", query_string={"location_id": clinic["location"]["id"]}, headers=staff["admin"]).json
    assert [room["name"] for room in here] == ["Chair 1"]
    assert len(client.get(f"{API}/rooms", headers=staff["admin"]).json) == 2

    response = client.patch(f"{API}/rooms/{clinic['chair']['id']}", json={"active": False}, headers=staff["admin"])
    assert response.status_code == 200 and response.json["active"] is False


def test_a_booked_room_is_not_deleted_but_an_unused_one_is(client, staff, clinic, service):
    spare = create(client, staff, "rooms", {"location_id": clinic["location"]["id"], "name": "Chair 2", "kind": "infusion_chair"})
    insert_booking(service, clinic["type"]["id"], clinic["nurse"]["id"], clinic["location"]["id"], clinic["chair"]["id"])

    refused = client.delete(f"{API}/rooms/{clinic['chair']['id']}", headers=staff["admin"])
    assert refused.status_code == 409 and refused.json["code"] == "in_use"
    assert "bookings: 1" in refused.json["message"] and "Deactivate" in refused.json["message"]
    assert client.delete(f"{API}/rooms/{spare['id']}", headers=staff["admin"]).status_code == 204


# --- appointment types ---------------------------------------------------------------------------------


def test_an_appointment_type_keeps_every_field_and_a_patch_changes_only_what_it_names(client, staff, clinic):
    created = clinic["type"]
    assert {k: v for k, v in created.items() if k != "id"} == type_body() | {"active": True}

    response = client.patch(f"{API}/appointment-types/{created['id']}", json={"buffer_after_minutes": 60}, headers=staff["admin"])
    assert response.status_code == 200
    assert response.json == created | {"buffer_after_minutes": 60}


def test_defaults_fill_what_a_new_type_leaves_out(client, staff):
    body = {"code": "consult", "name": "Consultation", "category": "consultation", "duration_minutes": 30,
            "modality": "telehealth"}
    created = create(client, staff, "appointment-types", body)
    assert created["slot_step_minutes"] == 15 and created["buffer_before_minutes"] == 0
    assert created["cancel_notice_hours"] == 24 and created["reschedule_notice_hours"] == 24
    assert created["room_kind"] is None and created["requires_eligibility"] is False


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": "50"}, "duration_minutes"),
        ({"duration_minutes": 50.5}, "duration_minutes"),
        ({"slot_step_minutes": 0}, "slot_step_minutes"),
        ({"buffer_before_minutes": -5}, "buffer_before_minutes"),
        ({"buffer_after_minutes": -1}, "buffer_after_minutes"),
        ({"category": "dosing"}, "category"),
        ({"modality": "phone"}, "modality"),
        ({"code": "IV Infusion"}, "code"),
        ({"room_kind": "hyperbaric_chamber"}, "room_kind"),
        ({"modality": "telehealth"}, "room_kind"),
        ({"min_notice_minutes": 90 * 24 * 60}, "min_notice_minutes"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"cancel_notice_hours": -1}, "cancel_notice_hours"),
    ],
)
def test_an_invalid_appointment_type_is_422_naming_the_field(client, staff, clinic, fields, field):
    response = client.post(f"{API}/appointment-types", json=type_body(code="other") | fields, headers=staff["admin"])
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_a_patch_is_checked_against_the_whole_type(client, staff, clinic):
    path = f"{API}/appointment-types/{clinic['type']['id']}"
    response = client.patch(path, json={"modality": "telehealth"}, headers=staff["admin"])
    assert response.status_code == 422 and "room_kind" in response.json["errors"]
    fixed = client.patch(path, json={"modality": "telehealth", "room_kind": None}, headers=staff["admin"])
    assert fixed.status_code == 200 and fixed.json["room_kind"] is None


def test_appointment_type_codes_are_unique(client, staff, clinic):
    duplicate = client.post(f"{API}/appointment-types", json=type_body(), headers=staff["admin"])
    assert duplicate.status_code == 409 and duplicate.json["code"] == "code_taken"
    other = create(client, staff, "appointment-types", type_body(code="booster-infusion", category="booster"))
    renamed = client.patch(f"{API}/appointment-types/{other['id']}", json={"code": "iv-infusion"}, headers=staff["admin"])
    assert renamed.status_code == 409 and renamed.json["code"] == "code_taken"


def test_a_booked_type_is_kept_and_can_be_deactivated_while_an_unused_one_is_deleted(client, staff, clinic, service):
    insert_booking(service, clinic["type"]["id"], clinic["nurse"]["id"], clinic["location"]["id"])
    path = f"{API}/appointment-types/{clinic['type']['id']}"
    refused = client.delete(path, headers=staff["admin"])
    assert refused.status_code == 409 and "bookings: 1" in refused.json["message"]
    assert client.patch(path, json={"active": False}, headers=staff["admin"]).json["active"] is False

    unused = create(client, staff, "appointment-types", type_body(code="booster-infusion", category="booster"))
    client.patch(f"{API}/clinicians/{clinic['nurse']['id']}", json={"appointment_types": ["iv-infusion", "booster-infusion"]},
                 headers=staff["admin"])
    assert client.delete(f"{API}/appointment-types/{unused['id']}", headers=staff["admin"]).status_code == 204
    nurse = client.get(f"{API}/clinicians/{clinic['nurse']['id']}", headers=staff["admin"]).json
    assert nurse["appointment_types"] == ["iv-infusion"], "clinicians stop delivering a deleted type"


# --- clinicians ----------------------------------------------------------------------------------------------


def test_a_clinician_has_a_role_the_types_they_deliver_and_the_locations_they_work_at(client, staff, clinic, service):
    nurse = clinic["nurse"]
    assert nurse["role"] == "nurse" and nurse["active"] is True
    assert nurse["appointment_types"] == ["iv-infusion"] and nurse["location_ids"] == []
    assert "calendar_token" not in nurse, "the feed secret is not in the clinician listing"

    hours = {"location_id": clinic["location"]["id"], "weekday": 0, "start_time": "09:00", "end_time": "17:00"}
    assert client.post(f"{API}/clinicians/{nurse['id']}/working-hours", json=hours, headers=staff["admin"]).status_code == 201
    listed = client.get(f"{API}/clinicians", headers=staff["front_desk"]).json
    assert [c["location_ids"] for c in listed] == [[clinic["location"]["id"]]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Dr X", "role": "surgeon"}, "role"),
        ({"name": "Dr X", "role": "therapist", "appointment_types": ["no-such-type"]}, "appointment_types"),
        ({"name": "Dr X", "role": "therapist", "email": "not-an-email"}, "email"),
        ({"role": "therapist"}, "name"),
    ],
)
def test_an_invalid_clinician_is_422_naming_the_field(client, staff, clinic, body, field):
    response = client.post(f"{API}/clinicians", json=body, headers=staff["admin"])
    assert response.status_code == 422 and field in response.json["errors"]


def test_changing_the_types_a_clinician_delivers_replaces_the_set_and_is_audited_once(client, staff, clinic, service):
    create(client, staff, "appointment-types", type_body(code="booster-infusion", category="booster"))
    path = f"{API}/clinicians/{clinic['nurse']['id']}"
    response = client.patch(path, json={"appointment_types": ["booster-infusion"], "active": False}, headers=staff["admin"])
    assert response.status_code == 200
    assert response.json["appointment_types"] == ["booster-infusion"] and response.json["active"] is False

    updates = [row for row in audit_rows(service, f"clinician:{clinic['nurse']['id']}") if row["action"] == "clinician.updated"]
    assert len(updates) == 1 and updates[0]["detail"]["fields"] == ["active", "appointment_types"]


def test_a_booked_clinician_is_deactivated_not_deleted_and_an_unbooked_one_goes_with_their_hours(client, staff, clinic, service):
    insert_booking(service, clinic["type"]["id"], clinic["nurse"]["id"], clinic["location"]["id"])
    refused = client.delete(f"{API}/clinicians/{clinic['nurse']['id']}", headers=staff["admin"])
    assert refused.status_code == 409 and refused.json["code"] == "in_use" and "Deactivate" in refused.json["message"]

    locum = create(client, staff, "clinicians", {"name": "Locum", "role": "therapist"})
    hours = {"location_id": clinic["location"]["id"], "weekday": 2, "start_time": "09:00", "end_time": "12:00"}
    client.post(f"{API}/clinicians/{locum['id']}/working-hours", json=hours, headers=staff["admin"])
    assert client.delete(f"{API}/clinicians/{locum['id']}", headers=staff["admin"]).status_code == 204
    with service.runtime.engine.connect() as connection:
        left = connection.execute(select(t.working_hours).where(t.working_hours.c.clinician_id == locum["id"])).all()
    assert left == []


def test_unknown_ids_are_404_in_the_shared_error_shape(client, staff):
    for path in ("locations/x", "rooms/x", "appointment-types/x", "clinicians/x"):
        response = client.get(f"{API}/{path}", headers=staff["admin"])
        assert response.status_code == 404 and response.json["code"] == "not_found", path
        assert client.patch(f"{API}/{path}", json={}, headers=staff["admin"]).status_code == 404
        assert client.delete(f"{API}/{path}", headers=staff["admin"]).status_code == 404
