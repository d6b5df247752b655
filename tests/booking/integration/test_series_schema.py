"""Migration 0004 (protocols, series, bookings.series_id/series_position) and the series' eligibility gate."""
from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, text

from kapbook_booking.adapters import tables as t
from kapbook_platform.runtime import alembic_config
from support.clinic import ClinicBuilder
from support.series import add_protocol, next_monday_at, series_body


@pytest.fixture
def booking_config_overrides() -> dict:
    return {"eligibility_url": "http://127.0.0.1:1"}  # an eligibility service that never answers


def overlap_guards(service) -> set[str]:
    with service.runtime.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'bookings' AND name LIKE '%overlap%'"
        else:
            query = "SELECT conname FROM pg_constraint WHERE conrelid = 'bookings'::regclass AND contype = 'x'"
        return set(connection.execute(text(query)).scalars())


def test_migration_0004_adds_series_keeps_the_overlap_guards_and_downgrades(service):
    config = alembic_config(service.runtime, t.metadata, "kapbook_booking.adapters.migrations")
    guards = overlap_guards(service)
    assert len(guards) in (2, 4), guards

    command.downgrade(config, "0003")
    schema = inspect(service.runtime.engine)
    assert {"protocols", "series"}.isdisjoint(schema.get_table_names())
    assert "series_id" not in {c["name"] for c in schema.get_columns("bookings")}
    assert overlap_guards(service) == guards

    command.upgrade(config, "head")
    schema = inspect(service.runtime.engine)
    assert {"protocols", "series"} <= set(schema.get_table_names())
    assert {"series_id", "series_position"} <= {c["name"] for c in schema.get_columns("bookings")}
    assert overlap_guards(service) == guards


def test_a_series_of_a_treatment_type_needs_a_screening_and_asks_eligibility_before_booking(client, service):
    clinic = ClinicBuilder(service.runtime.sessions)
    infusion = clinic.appointment_type("infusion", 50, room_kind="chair", requires_eligibility=True)
    clinic.clinician("Nurse A", [infusion])
    clinic.room("chair")
    add_protocol(clinic, "iv-2", infusion, 2, max_per_week=None)
    monday = next_monday_at(clinic.zone, 10)
    starts = [monday, monday + timedelta(days=2)]
    missing = client.post("/api/booking/v1/series", json=series_body(starts, protocol="iv-2"))
    assert missing.status_code == 422 and missing.json["code"] == "screening_required"
    # The eligibility service of this test app does not answer: 503, and nothing is booked.
    down = client.post("/api/booking/v1/series", json=series_body(starts, protocol="iv-2", screening_id="scr-1"))
    assert down.status_code == 503 and down.json["code"] == "eligibility_unavailable"
    with service.runtime.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM bookings")).scalar_one() == 0
