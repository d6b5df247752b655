"""Telehealth video rooms in the booking service: a clinician's fixed room (staff API, audited) wins
over the clinic's template; the migration adds the columns and keeps the no-overlap guarantees."""
from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select, text

from kapbook_platform.runtime import alembic_config as platform_alembic_config
from kapbook_booking.adapters import tables as t
from kapbook_booking.service_layer.demo import demo_id, seed_demo_clinic
from support.pipeline import next_weekday_at

API = "/api/booking/v1"
RIVERA = demo_id("dr-rivera")
FIXED = "https://video.clinic.example/rooms/dr-rivera"


@pytest.fixture
def booking_config_overrides() -> dict:
    return {"video_room_template": "https://rooms.clinic.example/k/{room}?lang=en"}


def consultation(start: datetime, email: str) -> dict:
    return {"appointment_type": "free-consultation", "start": start.isoformat(), "clinician_id": RIVERA,
            "patient": {"name": "Pat Example", "email": email, "timezone": "America/New_York"}}


def test_the_clinics_template_gives_each_booking_its_own_room_until_a_fixed_room_is_set(client, staff, service):
    seed_demo_clinic(service.runtime.sessions)

    first = client.post(f"{API}/bookings", json=consultation(next_weekday_at(9), "a@example.org"))
    second = client.post(f"{API}/bookings", json=consultation(next_weekday_at(10), "b@example.org"))

    assert first.status_code == second.status_code == 201, (first.json, second.json)
    urls = [first.json["join_url"], second.json["join_url"]]
    assert all(url.startswith("https://rooms.clinic.example/k/") and url.endswith("?lang=en") for url in urls)
    assert urls[0] != urls[1]

    changed = client.patch(f"{API}/clinicians/{RIVERA}", json={"video_room_url": FIXED}, headers=staff["admin"])
    assert changed.status_code == 200, changed.json
    assert changed.json["video_room_url"] == FIXED
    assert client.get(f"{API}/clinicians/{RIVERA}", headers=staff["front_desk"]).json["video_room_url"] == FIXED
    with service.runtime.sessions() as session:
        audit = service.runtime.tables["audit_log"]
        actions = session.execute(select(audit.c.action).where(audit.c.target.contains(RIVERA))).scalars().all()
    assert actions, "the change of room is audited"

    third = client.post(f"{API}/bookings", json=consultation(next_weekday_at(11), "c@example.org"))
    assert third.status_code == 201 and third.json["join_url"] == FIXED
    schedule = client.get(f"/staff/clinicians/{RIVERA}", headers=staff["front_desk"])
    assert schedule.status_code == 200 and FIXED in schedule.get_data(as_text=True)
    view = client.get(f"/staff/bookings/{first.json['id']}", headers=staff["front_desk"])
    assert urls[0] in view.get_data(as_text=True), "existing bookings keep the room they were given"


@pytest.mark.parametrize("body", [{"video_room_url": "not a url"}, {"video_room_url": "javascript:alert(1)"},
                                  {"video_room_url": "https://x.example/" + "a" * 2000}])
def test_an_invalid_fixed_room_is_422_naming_the_field(client, staff, service, body):
    seed_demo_clinic(service.runtime.sessions)

    response = client.patch(f"{API}/clinicians/{RIVERA}", json=body, headers=staff["admin"])

    assert response.status_code == 422 and "video_room_url" in str(response.json["errors"])


def test_only_admins_set_a_fixed_room(client, staff, service):
    seed_demo_clinic(service.runtime.sessions)

    response = client.patch(f"{API}/clinicians/{RIVERA}", json={"video_room_url": FIXED}, headers=staff["front_desk"])

    assert response.status_code == 403


def alembic_config(service) -> Config:
    return platform_alembic_config(service.runtime, t.metadata, "kapbook_booking.adapters.migrations")


def overlap_guards(service) -> set[str]:
    with service.runtime.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'bookings' AND name LIKE '%overlap%'"
        else:
            query = "SELECT conname FROM pg_constraint WHERE conrelid = 'bookings'::regclass AND contype = 'x'"
        return set(connection.execute(text(query)).scalars())


def test_migration_0002_adds_the_columns_keeps_the_overlap_guards_and_downgrades(service):
    config = alembic_config(service)
    guards = overlap_guards(service)
    assert len(guards) in (2, 4), guards  # two exclusion constraints, or four triggers on SQLite

    command.downgrade(config, "0001")
    assert "join_url" not in {c["name"] for c in inspect(service.runtime.engine).get_columns("bookings")}
    assert overlap_guards(service) == guards

    command.upgrade(config, "head")
    schema = inspect(service.runtime.engine)
    assert "join_url" in {c["name"] for c in schema.get_columns("bookings")}
    assert "video_room_url" in {c["name"] for c in schema.get_columns("clinicians")}
    assert overlap_guards(service) == guards
