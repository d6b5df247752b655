"""The staff calendar over HTTP: day and week, by clinician and by room, across DST changes, in few queries."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from kapbook_booking.adapters import tables as t

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
UTC = timezone.utc


class Clinic:
    """Built through the staff API; bookings go straight into the table at exact instants."""

    def __init__(self, client, staff, service) -> None:
        self.client, self.staff, self.service = client, staff, service
        self.nyc = self.create("locations", {"name": "Manhattan", "timezone": "America/New_York"})
        self.la = self.create("locations", {"name": "Santa Monica", "timezone": "America/Los_Angeles"})
        self.chair = self.create("rooms", {"location_id": self.nyc["id"], "name": "Chair 1", "kind": "infusion_chair"})
        self.other_chair = self.create("rooms", {"location_id": self.nyc["id"], "name": "Chair 2", "kind": "infusion_chair"})
        self.infusion = self.create("appointment-types", {
            "code": "iv-infusion", "name": "IV ketamine infusion", "category": "dosing_iv", "duration_minutes": 50,
            "buffer_before_minutes": 15, "buffer_after_minutes": 45, "modality": "in_person", "room_kind": "infusion_chair"})
        self.nurse = self.create("clinicians",
                                 {"name": "Grace Okafor, RN", "role": "nurse", "appointment_types": ["iv-infusion"]})
        self.therapist = self.create("clinicians", {"name": "Elena Park", "role": "therapist"})

    def create(self, path: str, body: dict) -> dict:
        response = self.client.post(f"{API}/{path}", json=body, headers=self.staff["admin"])
        assert response.status_code == 201, response.json
        return response.json

    def every_day(self, clinician: dict, location: dict, start: str, end: str) -> None:
        for weekday in range(7):
            self.create(f"clinicians/{clinician['id']}/working-hours",
                        {"location_id": location["id"], "weekday": weekday, "start_time": start, "end_time": end})

    def book(self, start: datetime, clinician: dict | None = None, room: dict | None = None, status: str = "booked",
             hold_expires_at: datetime | None = None, minutes: int = 50, buffers: bool = True) -> str:
        booking_id = str(uuid.uuid4())
        end = start + timedelta(minutes=minutes)
        before, after = (timedelta(minutes=15), timedelta(minutes=45)) if buffers else (timedelta(0), timedelta(0))
        with self.service.runtime.sessions.begin() as session:
            session.execute(t.bookings.insert().values(
                id=booking_id, appointment_type_id=self.infusion["id"], clinician_id=(clinician or self.nurse)["id"],
                location_id=self.nyc["id"], room_id=room["id"] if room else None, start=start, end=end,
                blocked_start=start - before, blocked_end=end + after, status=status,
                sequence=0, hold_expires_at=hold_expires_at, patient_name="Pat Example", patient_email="pat@example.org",
                driver_confirmed=True, created_by="test", created_at=start, updated_at=start))
        return booking_id

    def calendar(self, role: str = "front_desk", **params):
        return self.client.get(f"{API}/calendar", query_string=params, headers=self.staff[role])


@pytest.fixture
def clinic(client, staff, service) -> Clinic:
    return Clinic(client, staff, service)


def spans(items: list[dict]) -> list[tuple[str, str]]:
    return [(item["start"], item["end"]) for item in items]


def test_a_week_by_clinician_across_spring_forward_carries_each_day_s_own_offset(clinic):
    clinic.every_day(clinic.nurse, clinic.nyc, "09:00", "17:00")
    saturday = clinic.book(datetime(2025, 3, 8, 15, tzinfo=UTC))   # 10:00 EST
    sunday = clinic.book(datetime(2025, 3, 9, 14, tzinfo=UTC))     # 10:00 EDT, the day clocks spring forward
    clinic.book(datetime(2025, 3, 10, 14, tzinfo=UTC))             # the next week
    clinic.create(f"clinicians/{clinic.nurse['id']}/time-off",
                  {"start": "2025-03-09T13:00:00-04:00", "end": "2025-03-09T15:00:00-04:00", "reason": "Training"})

    response = clinic.calendar(view="week", date="2025-03-05", timezone="America/New_York", clinician_id=clinic.nurse["id"])

    assert response.status_code == 200, response.json
    week = response.json
    assert (week["start"], week["end"]) == ("2025-03-03T00:00:00-05:00", "2025-03-10T00:00:00-04:00")
    assert week["clinician"]["name"] == "Grace Okafor, RN" and week["room"] is None
    assert [booking["id"] for booking in week["bookings"]] == [saturday, sunday]
    assert spans(week["bookings"]) == [
        ("2025-03-08T10:00:00-05:00", "2025-03-08T10:50:00-05:00"),
        ("2025-03-09T10:00:00-04:00", "2025-03-09T10:50:00-04:00"),
    ]
    assert week["bookings"][1]["blocked_start"] == "2025-03-09T09:45:00-04:00"
    assert week["bookings"][1]["appointment_type"] == {
        "code": "iv-infusion", "name": "IV ketamine infusion", "category": "dosing_iv"}
    intervals = spans(week["working_intervals"])
    assert len(intervals) == 7
    assert intervals[0] == ("2025-03-03T09:00:00-05:00", "2025-03-03T17:00:00-05:00")
    assert intervals[5:] == [("2025-03-08T09:00:00-05:00", "2025-03-08T17:00:00-05:00"),
                             ("2025-03-09T09:00:00-04:00", "2025-03-09T17:00:00-04:00")]
    assert spans(week["time_off"]) == [("2025-03-09T13:00:00-04:00", "2025-03-09T15:00:00-04:00")]


def test_the_same_week_seen_from_another_zone_uses_that_zone_s_range_and_offsets(clinic):
    clinic.every_day(clinic.nurse, clinic.nyc, "09:00", "17:00")
    clinic.book(datetime(2025, 3, 9, 14, tzinfo=UTC))

    week = clinic.calendar(view="week", date="2025-03-09", timezone="Europe/Berlin", clinician_id=clinic.nurse["id"]).json

    assert (week["start"], week["end"]) == ("2025-03-03T00:00:00+01:00", "2025-03-10T00:00:00+01:00")
    assert spans(week["bookings"]) == [("2025-03-09T15:00:00+01:00", "2025-03-09T15:50:00+01:00")]
    # New York's 09:00 is 15:00 in Berlin before the change and 14:00 after it.
    assert week["working_intervals"][5]["start"] == "2025-03-08T15:00:00+01:00"
    assert week["working_intervals"][6]["start"] == "2025-03-09T14:00:00+01:00"


def test_a_day_by_room_across_fall_back_shows_both_one_thirties(clinic):
    first = clinic.book(datetime(2025, 11, 2, 5, 30, tzinfo=UTC), room=clinic.chair, minutes=20, buffers=False)  # 01:30 EDT
    second = clinic.book(datetime(2025, 11, 2, 6, 30, tzinfo=UTC), room=clinic.chair, minutes=20, buffers=False,  # 01:30 EST
                         clinician=clinic.therapist)
    clinic.book(datetime(2025, 11, 2, 15, tzinfo=UTC), room=clinic.other_chair)
    clinic.book(datetime(2025, 11, 3, 15, tzinfo=UTC), room=clinic.chair)

    response = clinic.calendar(role="clinician", view="day", date="2025-11-02", timezone="America/New_York",
                               room_id=clinic.chair["id"])

    assert response.status_code == 200, response.json
    day = response.json
    assert (day["start"], day["end"]) == ("2025-11-02T00:00:00-04:00", "2025-11-03T00:00:00-05:00"), "a 25-hour day"
    assert day["room"] | {"id": "x"} == {"id": "x", "name": "Chair 1", "kind": "infusion_chair", "active": True,
                                         "location_id": clinic.nyc["id"], "location_name": "Manhattan"}
    assert [booking["id"] for booking in day["bookings"]] == [first, second]
    assert [booking["start"] for booking in day["bookings"]] == ["2025-11-02T01:30:00-04:00", "2025-11-02T01:30:00-05:00"]
    assert [booking["clinician"]["name"] for booking in day["bookings"]] == ["Grace Okafor, RN", "Elena Park"]
    assert day["bookings"][0]["room"] == {"id": clinic.chair["id"], "name": "Chair 1", "kind": "infusion_chair"}
    assert day["working_intervals"] == [] and day["time_off"] == []


def test_an_afternoon_schedule_on_the_fall_back_day_keeps_its_local_hours(clinic):
    clinic.every_day(clinic.therapist, clinic.la, "13:00", "20:00")

    query = {"view": "day", "timezone": "America/Los_Angeles", "clinician_id": clinic.therapist["id"]}
    day = clinic.calendar(date="2025-11-02", **query).json
    before = clinic.calendar(date="2025-11-01", **query).json

    assert spans(day["working_intervals"]) == [("2025-11-02T13:00:00-08:00", "2025-11-02T20:00:00-08:00")]
    assert spans(before["working_intervals"]) == [("2025-11-01T13:00:00-07:00", "2025-11-01T20:00:00-07:00")]
    assert day["working_intervals"][0]["location_name"] == "Santa Monica"


def test_overrides_close_or_replace_a_day_in_the_calendar(clinic):
    clinic.every_day(clinic.nurse, clinic.nyc, "09:00", "17:00")
    path = f"clinicians/{clinic.nurse['id']}/overrides"
    clinic.create(path, {"location_id": clinic.nyc["id"], "date": "2025-03-04"})
    clinic.create(path, {"location_id": clinic.nyc["id"], "date": "2025-03-05", "start_time": "12:00", "end_time": "20:00"})

    week = clinic.calendar(view="week", date="2025-03-05", timezone="America/New_York", clinician_id=clinic.nurse["id"]).json

    days = [interval["start"][:10] for interval in week["working_intervals"]]
    assert "2025-03-04" not in days and len(days) == 6
    assert spans(week["working_intervals"])[1] == ("2025-03-05T12:00:00-05:00", "2025-03-05T20:00:00-05:00")


def test_holds_show_with_their_status_until_they_expire_and_cancelled_bookings_only_on_request(clinic):
    now = datetime.now(UTC)
    held = clinic.book(datetime(2025, 3, 4, 14, tzinfo=UTC), status="held", hold_expires_at=now + timedelta(minutes=10))
    clinic.book(datetime(2025, 3, 4, 16, tzinfo=UTC), status="held", hold_expires_at=now - timedelta(minutes=1))
    cancelled = clinic.book(datetime(2025, 3, 4, 18, tzinfo=UTC), status="cancelled")
    query = {"view": "day", "date": "2025-03-04", "timezone": "America/New_York", "clinician_id": clinic.nurse["id"]}

    day = clinic.calendar(**query).json
    with_cancelled = clinic.calendar(**query, include_cancelled="true").json

    assert [(booking["id"], booking["status"]) for booking in day["bookings"]] == [(held, "held")]
    assert day["bookings"][0]["hold_expires_at"] is not None and day["bookings"][0]["patient_name"] == "Pat Example"
    assert [booking["status"] for booking in with_cancelled["bookings"]] == ["held", "cancelled"]
    assert with_cancelled["bookings"][1]["id"] == cancelled


def count_queries(service):
    statements: list[str] = []
    event.listen(service.runtime.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


def test_a_week_costs_the_same_few_queries_with_one_booking_or_forty(clinic, service):
    clinic.every_day(clinic.nurse, clinic.nyc, "08:00", "20:00")
    query = {"view": "week", "date": "2025-03-05", "timezone": "America/New_York", "clinician_id": clinic.nurse["id"]}
    clinic.book(datetime(2025, 3, 3, 11, tzinfo=UTC), room=clinic.chair)
    statements = count_queries(service)

    assert len(clinic.calendar(**query).json["bookings"]) == 1
    with_one = len(statements)
    for day in range(7):
        for hour in range(13, 24, 2):
            clinic.book(datetime(2025, 3, 3 + day, hour, 5, tzinfo=UTC), room=clinic.other_chair if hour % 4 == 1 else None)
    statements.clear()
    assert len(clinic.calendar(**query).json["bookings"]) == 43
    # At most 9 reads (the last: busy times from connected calendars), plus the read's audit row (BEGIN and INSERT).
    assert len(statements) == with_one <= 11, statements


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": "2025-03-05", "timezone": "America/New_York"}, "clinician_id"),
        ({"date": "2025-03-05", "timezone": "America/New_York", "clinician_id": "a", "room_id": "b"}, "clinician_id"),
        ({"date": "2025-03-05", "timezone": "Moon/Base", "clinician_id": "a"}, "timezone"),
        ({"date": "2025-02-30", "timezone": "UTC", "clinician_id": "a"}, "date"),
        ({"view": "month", "date": "2025-03-05", "timezone": "UTC", "clinician_id": "a"}, "view"),
        ({"timezone": "UTC", "clinician_id": "a"}, "date"),
        ({"date": "2025-03-05", "timezone": "UTC", "clinician": "a"}, "clinician"),
    ],
)
def test_an_invalid_calendar_query_is_422_naming_the_parameter(clinic, params, field):
    response = clinic.calendar(**params)
    assert response.status_code == 422 and field in response.json["errors"]


def test_an_unknown_subject_is_404_and_strangers_get_401(clinic, client):
    for subject in ({"clinician_id": "nope"}, {"room_id": "nope"}):
        response = clinic.calendar(date="2025-03-05", timezone="UTC", **subject)
        assert response.status_code == 404 and response.json["code"] == "not_found"
    query = {"date": "2025-03-05", "timezone": "UTC", "room_id": clinic.chair["id"]}
    anonymous = client.get(f"{API}/calendar", query_string=query)
    assert anonymous.status_code == 401
