"""Bookings over HTTP: idempotency, holds, notice windows, staff overrides, visits, events."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from support.clinic import ClinicBuilder, patient
from support.clock import TravellingClock

pytestmark = pytest.mark.integration


@pytest.fixture
def clock():
    return TravellingClock()


@pytest.fixture
def service(tmp_path, db, database_factory, clock):
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                                        eligibility_url="http://127.0.0.1:1"), clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.consult = clinic.appointment_type("consult", 30)
    clinic.dr_a = clinic.clinician("Dr A", [clinic.consult])
    return clinic


@pytest.fixture
def client(service):
    return create_app(service).test_client()


def book(client, start, key=None, **extra):
    headers = {"Idempotency-Key": key} if key else {}
    body = {"appointment_type": "consult", "start": start.isoformat(), "patient": patient()} | extra
    return client.post("/api/booking/v1/bookings", json=body, headers=headers)


def events(service) -> list[str]:
    outbox = service.runtime.tables["outbox"]
    with service.runtime.engine.connect() as connection:
        return [row.type for row in connection.execute(select(outbox.c.type).order_by(outbox.c.created_at))]


def token_of(response) -> str:
    return response.json["manage_url"].rsplit("/", 1)[1]


def test_same_idempotency_key_and_body_returns_the_same_booking_and_another_body_is_refused(client, clinic, service):
    start = clinic.local(3, 10)
    first = book(client, start, key="k-1")
    again = book(client, start, key="k-1")
    other = book(client, start + timedelta(hours=1), key="k-1")

    assert first.status_code == 201 and again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert events(service) == ["kapbook.booking.created.v1"]


def test_a_taken_slot_is_409_slot_unavailable(client, clinic):
    start = clinic.local(3, 10)
    assert book(client, start).status_code == 201
    clash = book(client, start + timedelta(minutes=15))
    assert clash.status_code == 409 and clash.json["code"] == "slot_unavailable"


def test_a_hold_keeps_the_slot_until_it_is_booked_or_expires(client, clinic, clock):
    start = clinic.local(3, 10)
    hold = client.post("/api/booking/v1/holds", json={"appointment_type": "consult", "start": start.isoformat()})
    assert hold.status_code == 201
    assert book(client, start).status_code == 409, "a held slot is not free for others"

    booked = book(client, start, hold_id=hold.json["id"])
    assert booked.status_code == 201 and booked.json["id"] == hold.json["id"]

    later = clinic.local(3, 11)
    expired = client.post("/api/booking/v1/holds", json={"appointment_type": "consult", "start": later.isoformat()})
    clock.now += timedelta(minutes=11)
    assert book(client, later, hold_id=expired.json["id"]).json["code"] == "hold_not_found"
    assert book(client, later).status_code == 201, "an expired hold frees its slot by itself"


def test_patient_cancels_inside_the_window_and_is_refused_outside_it_with_the_policy(client, clinic, clock, service):
    soon = book(client, clinic.local(1, 9))
    later = book(client, clinic.local(5, 9))
    clock.now = datetime.fromisoformat(soon.json["start"]) - timedelta(hours=2)

    refused = client.post(f"/api/booking/v1/manage/{token_of(soon)}/cancel")
    assert refused.status_code == 409 and refused.json["code"] == "outside_policy_window"
    assert "24 hours" in refused.json["message"]

    cancelled = client.post(f"/api/booking/v1/manage/{token_of(later)}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["sequence"] == 1
    assert events(service)[-1] == "kapbook.booking.cancelled.v1"


def test_reschedule_keeps_the_id_raises_the_sequence_and_frees_the_old_time(client, clinic, service):
    original = book(client, clinic.local(4, 9))
    moved = client.post(f"/api/booking/v1/manage/{token_of(original)}/reschedule",
                        json={"start": clinic.local(4, 11).isoformat()})

    assert moved.status_code == 200, moved.json
    assert moved.json["id"] == original.json["id"] and moved.json["sequence"] == 1
    assert book(client, clinic.local(4, 9)).status_code == 201, "the old time is free again"
    assert "kapbook.booking.rescheduled.v1" in events(service)


def test_staff_override_the_window_with_a_recorded_reason(client, clinic, clock, service):
    booking = book(client, clinic.local(1, 9))
    clock.now = datetime.fromisoformat(booking.json["start"]) - timedelta(hours=1)
    token = clinic.staff_token("front_desk")
    headers = {"Authorization": f"Bearer {token}"}

    assert client.post(f"/api/booking/v1/bookings/{booking.json['id']}/cancel", json={"reason": "x"}).status_code == 401
    done = client.post(f"/api/booking/v1/bookings/{booking.json['id']}/cancel", json={"reason": "patient called, unwell"},
                       headers=headers)
    assert done.status_code == 200 and done.json["status"] == "cancelled"
    audit = service.runtime.tables["audit_log"]
    with service.runtime.engine.connect() as connection:
        row = connection.execute(select(audit).where(audit.c.action == "booking.cancel")).mappings().one()
    assert row["detail"] == {"reason": "patient called, unwell"} and row["actor"].startswith("staff:")


def test_staff_record_arrival_completion_and_no_show(client, clinic, service):
    headers = {"Authorization": f"Bearer {clinic.staff_token('clinician')}"}
    first = book(client, clinic.local(2, 9)).json["id"]
    second = book(client, clinic.local(2, 11)).json["id"]

    assert client.post(f"/api/booking/v1/bookings/{first}/arrive", headers=headers).json["status"] == "arrived"
    assert client.post(f"/api/booking/v1/bookings/{first}/complete", headers=headers).json["status"] == "fulfilled"
    assert client.post(f"/api/booking/v1/bookings/{second}/no-show", headers=headers).json["status"] == "noshow"
    again = client.post(f"/api/booking/v1/bookings/{second}/arrive", headers=headers)
    assert again.status_code == 409 and again.json["code"] == "invalid_status_change"
    assert events(service)[-2:] == ["kapbook.booking.completed.v1", "kapbook.booking.noshow.v1"]


def test_manage_links_cannot_be_forged_or_used_after_the_appointment(client, clinic, clock):
    booking = book(client, clinic.local(2, 9))
    token = token_of(booking)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/api/booking/v1/manage/{forged}").json["code"] == "manage_link_expired"
    assert client.get(f"/api/booking/v1/manage/{token}").status_code == 200
    clock.now = datetime.fromisoformat(booking.json["end"]) + timedelta(minutes=1)
    assert client.get(f"/api/booking/v1/manage/{token}").status_code == 403


def test_minimum_notice_and_horizon_are_enforced(client, clinic, clock):
    too_soon = book(client, clock.now + timedelta(minutes=30))
    too_far = book(client, clinic.local(120, 10))
    assert too_soon.status_code == 422 and too_soon.json["code"] == "outside_booking_window"
    assert too_far.status_code == 422 and too_far.json["code"] == "outside_booking_window"
