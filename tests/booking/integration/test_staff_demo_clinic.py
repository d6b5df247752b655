"""The demo clinic follows the product brief, seeds idempotently and is bookable for every type."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select

from kapbook_booking.adapters import tables as t
from kapbook_booking.entrypoints.app import create_app
from kapbook_booking.service_layer.catalog import APPOINTMENT_CATEGORIES
from kapbook_booking.service_layer.demo import demo_id, seed_demo_clinic
from kapbook_booking.domain.availability import WeeklyHours
from kapbook_booking.service_layer.schedules import validated_weekly_hours
from kapbook_platform.staff.tokens import token_digest

pytestmark = pytest.mark.integration
SEEDED_TABLES = (t.locations, t.rooms, t.appointment_types, t.clinicians, t.clinician_appointment_types, t.working_hours)


@pytest.fixture
def service(service):
    """The conftest's migrated service, with the demo clinic seeded."""
    seed_demo_clinic(service.runtime.sessions)
    return service


def rows(service, table) -> list[dict]:
    with service.runtime.engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table)).mappings()]


def counts(service) -> dict[str, int]:
    with service.runtime.engine.connect() as connection:
        return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one() for table in SEEDED_TABLES}


def types_by_code(service) -> dict[str, dict]:
    return {row["code"]: row for row in rows(service, t.appointment_types)}


def test_seeding_again_changes_nothing_and_restores_what_is_missing(service):
    before = counts(service)
    tokens = {row["id"]: row["calendar_token"] for row in rows(service, t.clinicians)}
    assert seed_demo_clinic(service.runtime.sessions) is False
    assert counts(service) == before

    with service.runtime.sessions.begin() as session:
        session.execute(delete(t.working_hours).where(t.working_hours.c.clinician_id == demo_id("elena-park")))
    assert seed_demo_clinic(service.runtime.sessions) is True
    assert counts(service) == before
    assert {row["id"]: row["calendar_token"] for row in rows(service, t.clinicians)} == tokens, "feed URLs survive a reseed"


def test_the_consultation_and_dr_rivera_other_tests_rely_on_are_unchanged(service):
    consultation = types_by_code(service)["free-consultation"]
    assert consultation["id"] == demo_id("free-consultation")
    assert consultation["duration_minutes"] == 30 and consultation["modality"] == "telehealth"
    assert consultation["requires_eligibility"] is False
    hours = [row for row in rows(service, t.working_hours) if row["clinician_id"] == demo_id("dr-rivera")]
    assert {row["location_id"] for row in hours} == {demo_id("loc-nyc")}
    assert sorted((row["weekday"], row["start_time"], row["end_time"]) for row in hours) == sorted(
        [(day, time(9), time(12, 30)) for day in range(5)] + [(day, time(13, 30), time(17)) for day in range(5)]
    )
    nyc = next(row for row in rows(service, t.locations) if row["id"] == demo_id("loc-nyc"))
    assert nyc["timezone"] == "America/New_York"


def test_the_appointment_types_follow_the_clinical_defaults_of_the_brief(service):
    types = types_by_code(service)
    assert {row["category"] for row in types.values()} == set(APPOINTMENT_CATEGORIES), "one type per category at least"
    by_category = {row["category"]: row for row in types.values()}

    assert 45 <= by_category["evaluation"]["duration_minutes"] <= 60
    assert 50 <= by_category["preparation"]["duration_minutes"] <= 60
    assert 50 <= by_category["integration"]["duration_minutes"] <= 60
    iv = by_category["dosing_iv"]
    assert 40 <= iv["duration_minutes"] <= 50 and 30 <= iv["buffer_after_minutes"] <= 60, "infusion plus recovery"
    assert iv["room_kind"] == "infusion_chair"
    esketamine = by_category["dosing_esketamine"]
    assert esketamine["duration_minutes"] >= 120 + 10 and esketamine["room_kind"] is not None, "dose plus >= 2 h monitoring"
    im = by_category["dosing_im"]
    assert 150 <= im["duration_minutes"] <= 180 and im["room_kind"] == "dosing_room"
    for category in ("dosing_iv", "dosing_esketamine", "dosing_im", "booster"):
        row = by_category[category]
        assert row["requires_eligibility"] and row["requires_driver"] and row["room_kind"], category
    for row in types.values():
        assert row["duration_minutes"] > 0 and row["slot_step_minutes"] > 0
        assert min(row["buffer_before_minutes"], row["buffer_after_minutes"]) >= 0
        assert row["modality"] in ("in_person", "telehealth")
        assert row["room_kind"] is None or row["modality"] == "in_person"


def test_clinicians_of_each_role_work_in_more_than_one_time_zone_without_overlapping_hours(service):
    clinicians = {row["id"]: row for row in rows(service, t.clinicians)}
    assert {row["role"] for row in clinicians.values()} == {"prescriber", "therapist", "nurse"}
    assert all(row["calendar_token"] for row in clinicians.values())
    zones = {row["id"]: row["timezone"] for row in rows(service, t.locations)}
    hours = rows(service, t.working_hours)
    assert len({zones[row["location_id"]] for row in hours}) >= 2
    by_clinician: dict[str, list[WeeklyHours]] = defaultdict(list)
    for row in hours:
        interval = validated_weekly_hours(row, by_clinician[row["clinician_id"]])  # raises on an overlap
        by_clinician[row["clinician_id"]].append(interval)
    assert set(by_clinician) == set(clinicians), "every clinician has hours"


def test_each_type_is_delivered_by_a_fitting_clinician_where_its_room_kind_exists(service):
    clinicians = {row["id"]: row for row in rows(service, t.clinicians)}
    types = {row["id"]: row for row in rows(service, t.appointment_types)}
    places = defaultdict(set)
    for row in rows(service, t.working_hours):
        places[row["clinician_id"]].add(row["location_id"])
    kinds = {(row["location_id"], row["kind"]) for row in rows(service, t.rooms)}
    deliverers = defaultdict(list)
    for link in rows(service, t.clinician_appointment_types):
        deliverers[types[link["appointment_type_id"]]["category"]].append(clinicians[link["clinician_id"]])
        kind = types[link["appointment_type_id"]]["room_kind"]
        if kind:
            assert any((place, kind) in kinds for place in places[link["clinician_id"]]), (link, kind)
    assert set(deliverers) == set(APPOINTMENT_CATEGORIES)
    assert {c["role"] for c in deliverers["evaluation"]} == {"prescriber"}
    assert {c["role"] for c in deliverers["preparation"]} == {"therapist"}
    assert {c["role"] for c in deliverers["dosing_im"]} == {"therapist"}


def test_every_demo_type_offers_slots_in_the_next_two_weeks(service):
    client = create_app(service).test_client()
    first = datetime.now(timezone.utc).date() + timedelta(days=3)
    for code in types_by_code(service):
        response = client.get("/api/booking/v1/availability", query_string={
            "appointment_type": code, "start": first.isoformat(), "end": (first + timedelta(days=13)).isoformat(),
            "timezone": "America/Los_Angeles"})
        assert response.status_code == 200, (code, response.json)
        assert response.json["slots"], f"{code} has no free slot in the demo clinic"


def test_a_calendar_day_of_the_demo_clinic_shows_its_hours(service):
    """The staff calendar reads the demo clinician's schedule in the viewer's zone."""
    with service.runtime.sessions.begin() as session:
        session.execute(t.PLATFORM_TABLES["staff_credentials"].insert().values(
            credential_id="c", staff_id="s", staff_name="Front desk", role="front_desk",
            token_sha256=token_digest("kbs_demo"), issued_at=datetime.now(timezone.utc)))
    client = create_app(service).test_client()
    monday = date(2031, 1, 6)
    response = client.get("/api/booking/v1/calendar", headers={"Authorization": "Bearer kbs_demo"}, query_string={
        "date": monday.isoformat(), "timezone": "America/Los_Angeles", "clinician_id": demo_id("dr-rivera")})
    assert response.status_code == 200, response.json
    assert [(i["start"], i["end"]) for i in response.json["working_intervals"]] == [
        ("2031-01-06T06:00:00-08:00", "2031-01-06T09:30:00-08:00"), ("2031-01-06T10:30:00-08:00", "2031-01-06T14:00:00-08:00")]
