"""Per-clinician iCalendar feeds: valid RFC 5545 read back by icalendar, secret URL, regeneration."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from kapbook_booking.adapters import tables as t

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
UTC = timezone.utc
PUBLIC_URL = "https://clinic.example"


@pytest.fixture
def booking_config_overrides() -> dict:
    return {"public_base_url": PUBLIC_URL}


class Clinic:
    def __init__(self, client, staff, service) -> None:
        self.client, self.staff, self.service = client, staff, service
        self.location = self.create("locations", {"name": "Manhattan", "timezone": "America/New_York"})
        self.chair = self.create("rooms", {"location_id": self.location["id"], "name": "Chair 1", "kind": "infusion_chair"})
        self.infusion = self.create("appointment-types", {
            "code": "iv-infusion", "name": "IV ketamine infusion", "category": "dosing_iv", "duration_minutes": 50,
            "modality": "in_person", "room_kind": "infusion_chair"})
        self.nurse = self.create("clinicians", {"name": "Grace Okafor, RN", "role": "nurse"})
        self.colleague = self.create("clinicians", {"name": "Sam Morales, RN", "role": "nurse"})

    def create(self, path: str, body: dict) -> dict:
        response = self.client.post(f"{API}/{path}", json=body, headers=self.staff["admin"])
        assert response.status_code == 201, response.json
        return response.json

    def book(self, start: datetime, status: str = "booked", sequence: int = 0, clinician: dict | None = None) -> str:
        booking_id = str(uuid.uuid4())
        end = start + timedelta(minutes=50)
        with self.service.runtime.sessions.begin() as session:
            session.execute(t.bookings.insert().values(
                id=booking_id, appointment_type_id=self.infusion["id"], clinician_id=(clinician or self.nurse)["id"],
                location_id=self.location["id"], room_id=self.chair["id"] if clinician is None else None, start=start,
                end=end, blocked_start=start, blocked_end=end, status=status, sequence=sequence,
                hold_expires_at=datetime.now(UTC) + timedelta(minutes=10) if status == "held" else None,
                patient_name="Pat Secretname", patient_email="pat.secret@example.org", driver_confirmed=True,
                created_by="test", created_at=start - timedelta(days=3), updated_at=start - timedelta(days=1)))
        return booking_id

    def feed_url(self, clinician: dict | None = None) -> str:
        path = f"{API}/clinicians/{(clinician or self.nurse)['id']}/calendar-feed"
        response = self.client.get(path, headers=self.staff["admin"])
        assert response.status_code == 200, response.json
        return response.json["url"]

    def fetch(self, url: str, **headers):
        assert url.startswith(PUBLIC_URL)
        return self.client.get(url.removeprefix(PUBLIC_URL), headers=headers)


@pytest.fixture
def clinic(client, staff, service) -> Clinic:
    return Clinic(client, staff, service)


def soon(days: int, hour: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def test_the_feed_is_rfc_5545_with_one_event_per_booking_and_cancellations_marked(clinic):
    booked = clinic.book(soon(2, 14))
    rescheduled = clinic.book(soon(3, 15), sequence=2)
    cancelled = clinic.book(soon(4, 16), status="cancelled", sequence=3)
    no_show = clinic.book(soon(-2, 14), status="noshow", sequence=1)
    clinic.book(soon(5, 14), status="held")
    clinic.book(soon(-120, 14), status="fulfilled")
    clinic.book(soon(2, 14), clinician=clinic.colleague)

    response = clinic.fetch(clinic.feed_url())

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response.headers["Cache-Control"] and response.headers["Referrer-Policy"] == "no-referrer"
    calendar = Calendar.from_ical(response.data)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"]).startswith("-//Kapbook//")
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {f"{booking}@kapbook" for booking in (booked, rescheduled, cancelled, no_show)}
    assert [int(events[f"{b}@kapbook"]["SEQUENCE"]) for b in (booked, rescheduled, cancelled, no_show)] == [0, 2, 3, 1]
    statuses = [str(events[f"{b}@kapbook"]["STATUS"]) for b in (booked, cancelled, no_show)]
    assert statuses == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
    event = events[f"{rescheduled}@kapbook"]
    assert event.decoded("DTSTART") == soon(3, 15) and event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == soon(3, 15) + timedelta(minutes=50)
    assert b"DTSTART:" in response.data and f"{soon(3, 15):%Y%m%dT%H%M%S}Z".encode() in response.data
    assert event.decoded("DTSTAMP") == soon(3, 15) - timedelta(days=1), "DTSTAMP is the last change of the booking"
    assert str(event["SUMMARY"]) == "Appointment: IV ketamine infusion"
    assert str(event["LOCATION"]) == "Manhattan, Chair 1"
    assert b"Secretname" not in response.data and b"pat.secret" not in response.data


def test_an_empty_feed_is_still_a_valid_calendar(clinic):
    calendar = Calendar.from_ical(clinic.fetch(clinic.feed_url()).data)
    assert calendar.walk("VEVENT") == [] and str(calendar["X-WR-CALNAME"]) == "Kapbook: Grace Okafor, RN"


def test_an_unchanged_feed_answers_304_to_a_conditional_request(clinic):
    clinic.book(soon(2, 14))
    url = clinic.feed_url()
    first = clinic.fetch(url)
    assert first.headers["ETag"]
    assert clinic.fetch(url, **{"If-None-Match": first.headers["ETag"]}).status_code == 304
    clinic.book(soon(3, 14))
    assert clinic.fetch(url, **{"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_regenerating_the_url_retires_the_old_one_at_once_and_is_audited(clinic, service):
    old = clinic.feed_url()
    response = clinic.client.post(f"{API}/clinicians/{clinic.nurse['id']}/calendar-feed", headers=clinic.staff["admin"])

    assert response.status_code == 200
    new = response.json["url"]
    assert new != old and new == clinic.feed_url()
    assert new.startswith(f"{PUBLIC_URL}/api/booking/v1/calendars/") and new.endswith(".ics")
    assert clinic.fetch(new).status_code == 200
    gone = clinic.fetch(old)
    assert gone.status_code == 404 and gone.json["code"] == "not_found"
    audit = t.PLATFORM_TABLES["audit_log"]
    with service.runtime.engine.connect() as connection:
        actions = connection.execute(select(audit.c.actor, audit.c.action).where(
            audit.c.target == f"clinician:{clinic.nurse['id']}")).all()
    assert ("staff-admin", "clinician.calendar_token_regenerated") in actions
    assert new.rsplit("/", 1)[1] not in str(actions), "the secret itself is never audited"


def test_only_admins_see_or_regenerate_feed_urls(clinic):
    path = f"{API}/clinicians/{clinic.nurse['id']}/calendar-feed"
    for role in ("front_desk", "clinician"):
        assert clinic.client.get(path, headers=clinic.staff[role]).status_code == 403
        assert clinic.client.post(path, headers=clinic.staff[role]).status_code == 403
    assert clinic.client.get(path).status_code == 401
    assert clinic.client.get(f"{API}/clinicians/nope/calendar-feed", headers=clinic.staff["admin"]).status_code == 404


def test_unknown_tokens_and_deactivated_clinicians_have_no_feed(clinic):
    assert clinic.client.get(f"{API}/calendars/not-a-token.ics").status_code == 404
    url = clinic.feed_url(clinic.colleague)
    clinic.client.patch(f"{API}/clinicians/{clinic.colleague['id']}", json={"active": False}, headers=clinic.staff["admin"])
    assert clinic.fetch(url).status_code == 404
