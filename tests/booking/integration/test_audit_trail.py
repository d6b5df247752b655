"""Issue 14 finding 9 and the admin audit page: reads of patient data leave an audit row (who, what,
when, from where, never the content); audit rows refuse UPDATE and DELETE; /staff/audit filters,
pages and exports them as spreadsheet-safe CSV."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from kapbook_booking.adapters import tables as t
from kapbook_booking.service_layer.audit_trail import PAGE_SIZE
from kapbook_platform.runtime import alembic_config
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.migrations import AUDIT_APPEND_ONLY_MESSAGE
from support.pipeline import next_weekday_at

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
UTC = timezone.utc
IP = "198.51.100.7"
PATIENT_NAME, PATIENT_EMAIL = "Pat Secretname", "pat.secret@example.org"
AUDIT = t.PLATFORM_TABLES["audit_log"]


@pytest.fixture
def booking_config_overrides() -> dict:
    return {"public_base_url": "https://clinic.example"}


def create(client, staff, path: str, body: dict) -> dict:
    response = client.post(f"{API}/{path}", json=body, headers=staff["admin"])
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def clinic(client, staff, service) -> dict:
    """One location, chair, infusion type and nurse, and one booking of a named patient."""
    location = create(client, staff, "locations", {"name": "Manhattan", "timezone": "America/New_York"})
    chair = create(client, staff, "rooms", {"location_id": location["id"], "name": "Chair 1", "kind": "infusion_chair"})
    infusion = create(client, staff, "appointment-types", {
        "code": "iv-infusion", "name": "IV ketamine infusion", "category": "dosing_iv", "duration_minutes": 50,
        "modality": "in_person", "room_kind": "infusion_chair"})
    nurse = create(client, staff, "clinicians", {"name": "Grace Okafor, RN", "role": "nurse"})
    start = next_weekday_at(11)
    booking_id = str(uuid.uuid4())
    with service.runtime.sessions.begin() as session:
        session.execute(t.bookings.insert().values(
            id=booking_id, appointment_type_id=infusion["id"], clinician_id=nurse["id"], location_id=location["id"],
            room_id=chair["id"], start=start, end=start + timedelta(minutes=50), blocked_start=start,
            blocked_end=start + timedelta(minutes=50), status="booked", sequence=0, patient_name=PATIENT_NAME,
            patient_email=PATIENT_EMAIL, patient_timezone="America/New_York", driver_confirmed=True, created_by="test", created_at=start - timedelta(days=3),
            updated_at=start - timedelta(days=3)))
    return {"location": location, "nurse": nurse, "chair": chair, "booking_id": booking_id, "start": start}


def audit_rows(service) -> list[dict]:
    with service.runtime.sessions() as session:
        return [dict(row) for row in session.execute(select(AUDIT).order_by(AUDIT.c.id)).mappings()]


def viewed(service) -> list[tuple[str, str, str, str | None]]:
    return [(row["actor"], row["action"], row["target"], (row["detail"] or {}).get("ip"))
            for row in audit_rows(service) if row["action"].endswith(".viewed")]


def test_each_read_of_patient_data_leaves_one_audit_row_with_who_what_and_where(client, staff, service, clinic):
    booking_id, nurse = clinic["booking_id"], clinic["nurse"]
    remote = {"REMOTE_ADDR": IP}
    day = clinic["start"].date().isoformat()

    assert client.get(f"{API}/bookings/{booking_id}", headers=staff["front_desk"], environ_base=remote).status_code == 200
    assert client.get(f"/staff/bookings/{booking_id}", headers=staff["clinician"], environ_base=remote).status_code == 200
    calendar = client.get(f"{API}/calendar", headers=staff["admin"], environ_base=remote,
                          query_string={"date": day, "timezone": "UTC", "clinician_id": nurse["id"]})
    assert calendar.status_code == 200, calendar.json
    page = client.get("/staff/calendar", headers=staff["admin"], environ_base=remote,
                      query_string={"view": "week", "by": "room", "date": day, "subject": clinic["chair"]["id"]})
    assert page.status_code == 200
    feed_url = client.get(f"{API}/clinicians/{nurse['id']}/calendar-feed", headers=staff["admin"]).json["url"]
    assert client.get(feed_url.removeprefix("https://clinic.example"), environ_base=remote).status_code == 200
    # A booking that does not exist is no read of patient data: no row.
    assert client.get(f"{API}/bookings/{uuid.uuid4()}", headers=staff["admin"]).status_code == 404

    assert viewed(service) == [
        ("staff-front_desk", "booking.viewed", f"booking:{booking_id}", IP),
        ("staff-clinician", "booking.viewed", f"booking:{booking_id}", IP),
        ("staff-admin", "calendar.viewed", f"calendar:clinician:{nurse['id']}", IP),
        ("staff-admin", "calendar.viewed", f"calendar:room:{clinic['chair']['id']}", IP),
        (f"calendar_feed:{nurse['id']}", "calendar_feed.viewed", f"calendar_feed:{nurse['id']}", IP),
    ]
    # Who, what, when, where: never the patient's name or email.
    written = repr(audit_rows(service))
    assert PATIENT_NAME not in written and PATIENT_EMAIL not in written


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'someone-else'",
    "DELETE FROM audit_log",
])
def test_audit_rows_refuse_update_and_delete(service, statement):
    with service.runtime.sessions.begin() as session:
        record_audit(session, AUDIT, "staff-admin", "booking.viewed", "booking:b-1", {"ip": IP})
    with pytest.raises(DBAPIError, match=AUDIT_APPEND_ONLY_MESSAGE):
        with service.runtime.engine.begin() as connection:
            connection.execute(text(statement))
    assert [(row["actor"], row["target"]) for row in audit_rows(service)] == [("staff-admin", "booking:b-1")]


def seed(service, rows: list[tuple[datetime, str, str, str]]) -> None:
    """Audit rows written as at given times: (at, actor, action, target)."""
    with service.runtime.sessions.begin() as session:
        for at, actor, action, target in rows:
            session.execute(AUDIT.insert().values(at=at, actor=actor, action=action, target=target, detail={"ip": IP}))


def listed_targets(client, staff, **filters) -> list[str]:
    response = client.get("/staff/audit", headers=staff["admin"], query_string=filters)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return [chunk.split("</code>")[0] for chunk in html.split('<td><code>')[1:] if not chunk.startswith("staff-")
            and not chunk.startswith("+")]


def test_audit_page_filters_newest_first_and_pages(client, staff, service):
    base = datetime(2026, 3, 2, 12, tzinfo=UTC)
    seed(service, [
        (base, "staff-admin", "booking.viewed", "booking:b-1"),
        (base + timedelta(days=1), "staff-clinician", "booking.viewed", "booking:b-2"),
        (base + timedelta(days=2), "staff-clinician", "calendar.viewed", "calendar:clinician:c-1"),
        (base + timedelta(days=3), "staff-admin", "booking.cancelled", "booking:b-1"),
    ])
    assert listed_targets(client, staff, resource="booking:") == ["booking:b-1", "booking:b-2", "booking:b-1"]
    assert listed_targets(client, staff, who="staff-clinician") == ["calendar:clinician:c-1", "booking:b-2"]
    assert listed_targets(client, staff, action="booking.viewed") == ["booking:b-2", "booking:b-1"]
    assert listed_targets(client, staff, **{"from": "2026-03-03", "to": "2026-03-04"}) == [
        "calendar:clinician:c-1", "booking:b-2"]
    # "_" and "%" in a resource filter are literal characters, not LIKE wildcards.
    assert listed_targets(client, staff, resource="booking_") == []

    seed(service, [(base + timedelta(days=10, minutes=i), "staff-admin", "booking.viewed", f"booking:p-{i:03d}")
                   for i in range(PAGE_SIZE + 5)])
    newest = listed_targets(client, staff, resource="booking:p-")
    assert len(newest) == PAGE_SIZE and newest[0] == f"booking:p-{PAGE_SIZE + 4:03d}"
    assert listed_targets(client, staff, resource="booking:p-", page="2") == [f"booking:p-{i:03d}" for i in range(4, -1, -1)]


def test_audit_csv_has_the_same_filters_and_defuses_formulas(client, staff, service):
    base = datetime(2026, 3, 2, 12, tzinfo=UTC)
    seed(service, [
        (base, "staff-admin", "booking.viewed", "booking:b-1"),
        (base + timedelta(hours=1), "=cmd|' /C calc'!A0", "staff.sign_in_failed", "+staff_email:x"),
        (base + timedelta(hours=2), "-2+3", "@SUM(A1)", "booking:b-2"),
    ])
    response = client.get("/staff/audit.csv", headers=staff["admin"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "at", "actor", "action", "target", "ip", "detail"]
    assert [row[2:6] for row in rows[1:]] == [
        ["'-2+3", "'@SUM(A1)", "booking:b-2", IP],
        ["'=cmd|' /C calc'!A0", "staff.sign_in_failed", "'+staff_email:x", IP],
        ["staff-admin", "booking.viewed", "booking:b-1", IP],
    ]
    filtered = client.get("/staff/audit.csv", headers=staff["admin"],
                          query_string={"resource": "booking:", "to": date(2026, 3, 2).isoformat()})
    assert [row[4] for row in csv.reader(io.StringIO(filtered.get_data(as_text=True)))][1:] == ["booking:b-2", "booking:b-1"]


def test_migration_0010_downgrades_to_a_changeable_audit_log_and_upgrades_again(service):
    config = alembic_config(service.runtime, t.metadata, "kapbook_booking.adapters.migrations")
    seed(service, [(datetime(2026, 3, 2, tzinfo=UTC), "staff-admin", "booking.viewed", "booking:b-1")])
    command.downgrade(config, "0008")
    with service.runtime.engine.begin() as connection:
        assert connection.execute(text("UPDATE audit_log SET actor = 'operator'")).rowcount == 1
    command.upgrade(config, "head")
    with pytest.raises(DBAPIError, match=AUDIT_APPEND_ONLY_MESSAGE):
        with service.runtime.engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_log"))
