"""Staff APIs for clinicians' weekly hours, date overrides and time off: validation, overlaps, roles, audit."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from kapbook_booking.adapters import tables as t

pytestmark = pytest.mark.integration
API = "/api/booking/v1"


@pytest.fixture
def clinic(client, staff) -> dict:
    """Two locations and a therapist with no hours yet."""
    def create(path, body):
        response = client.post(f"{API}/{path}", json=body, headers=staff["admin"])
        assert response.status_code == 201, response.json
        return response.json

    return {
        "nyc": create("locations", {"name": "Manhattan", "timezone": "America/New_York"}),
        "video": create("locations", {"name": "Telehealth", "timezone": "America/Chicago"}),
        "therapist": create("clinicians", {"name": "Dr. Priya Shah", "role": "therapist"}),
    }


def hours(clinic, weekday=0, start="09:00", end="12:30", location="nyc", **fields) -> dict:
    return {"location_id": clinic[location]["id"], "weekday": weekday, "start_time": start, "end_time": end} | fields


def add_hours(client, staff, clinic, role="admin", **fields):
    path = f"{API}/clinicians/{clinic['therapist']['id']}/working-hours"
    return client.post(path, json=hours(clinic, **fields), headers=staff[role])


# --- weekly hours ------------------------------------------------------------------------------


def test_several_intervals_a_day_are_listed_in_order_with_local_times(client, staff, clinic):
    afternoon = add_hours(client, staff, clinic, start="13:30", end="17:00")
    morning = add_hours(client, staff, clinic, start="09:00", end="12:30")
    assert afternoon.status_code == morning.status_code == 201
    assert morning.json | {"id": "x"} == {
        "id": "x", "clinician_id": clinic["therapist"]["id"], "location_id": clinic["nyc"]["id"], "weekday": 0,
        "start_time": "09:00", "end_time": "12:30", "effective_from": None, "effective_until": None,
    }
    listed = client.get(f"{API}/clinicians/{clinic['therapist']['id']}/working-hours", headers=staff["clinician"]).json
    assert [(row["start_time"], row["end_time"]) for row in listed] == [("09:00", "12:30"), ("13:30", "17:00")]


@pytest.mark.parametrize(
    ("existing", "candidate"),
    [
        ({"start": "09:00", "end": "12:30"}, {"start": "12:00", "end": "14:00"}),
        ({"start": "09:00", "end": "17:00"}, {"start": "10:00", "end": "11:00"}),
        ({"start": "09:00", "end": "17:00"}, {"start": "09:00", "end": "17:00", "location": "video"}),
        ({"start": "09:00", "end": "17:00", "effective_from": "2031-01-01"},
         {"start": "16:00", "end": "18:00", "effective_until": "2031-01-01"}),
    ],
)
def test_overlapping_intervals_for_the_same_clinician_and_weekday_are_422(client, staff, clinic, existing, candidate):
    assert add_hours(client, staff, clinic, **existing).status_code == 201
    response = add_hours(client, staff, clinic, **candidate)
    assert response.status_code == 422
    assert response.json["code"] == "overlapping_hours" and "Monday" in response.json["message"]


@pytest.mark.parametrize(
    "candidate",
    [
        {"start": "12:30", "end": "13:30"},
        {"start": "09:00", "end": "12:30", "weekday": 1},
        {"start": "09:00", "end": "12:30", "effective_from": "2031-01-01"},
    ],
)
def test_touching_intervals_other_weekdays_and_separate_effective_periods_are_fine(client, staff, clinic, candidate):
    existing = add_hours(client, staff, clinic, start="09:00", end="12:30", effective_until="2030-12-31")
    assert existing.status_code == 201
    assert add_hours(client, staff, clinic, **candidate).status_code == 201


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start": "12:00", "end": "09:00"}, "end_time"),
        ({"start": "09:00", "end": "09:00"}, "end_time"),
        ({"weekday": 7}, "weekday"),
        ({"weekday": "1"}, "weekday"),
        ({"start": "25:00"}, "start_time"),
        ({"effective_from": "2031-02-01", "effective_until": "2031-01-01"}, "effective_until"),
        ({"location": "nyc", "lunch": True}, "lunch"),
    ],
)
def test_invalid_hours_are_422_naming_the_field(client, staff, clinic, fields, field):
    response = add_hours(client, staff, clinic, **fields)
    assert response.status_code == 422 and field in response.json["errors"]


def test_hours_need_a_known_clinician_and_location(client, staff, clinic):
    unknown_clinician = client.post(f"{API}/clinicians/nope/working-hours", json=hours(clinic), headers=staff["admin"])
    assert unknown_clinician.status_code == 404
    body = hours(clinic) | {"location_id": "nope"}
    unknown_place = client.post(f"{API}/clinicians/{clinic['therapist']['id']}/working-hours", json=body, headers=staff["admin"])
    assert unknown_place.status_code == 422 and "location_id" in unknown_place.json["errors"]


def test_an_interval_is_changed_against_the_others_but_not_against_itself(client, staff, clinic):
    morning = add_hours(client, staff, clinic, start="09:00", end="12:00").json
    add_hours(client, staff, clinic, start="13:00", end="17:00")
    path = f"{API}/working-hours/{morning['id']}"

    widened = client.patch(path, json={"start_time": "08:00"}, headers=staff["front_desk"])
    assert widened.status_code == 200 and widened.json["start_time"] == "08:00" and widened.json["end_time"] == "12:00"
    clash = client.patch(path, json={"end_time": "13:30"}, headers=staff["front_desk"])
    assert clash.status_code == 422 and clash.json["code"] == "overlapping_hours"
    assert client.delete(path, headers=staff["front_desk"]).status_code == 204
    assert client.delete(path, headers=staff["front_desk"]).status_code == 404


# --- date overrides ----------------------------------------------------------------------------------


def overrides_path(clinic) -> str:
    return f"{API}/clinicians/{clinic['therapist']['id']}/overrides"


def test_a_day_is_closed_or_given_replacement_hours(client, staff, clinic):
    closed = client.post(overrides_path(clinic), json={"location_id": clinic["nyc"]["id"], "date": "2031-07-04"},
                         headers=staff["front_desk"])
    assert closed.status_code == 201
    assert closed.json["closed"] is True and closed.json["start_time"] is None

    body = {"location_id": clinic["video"]["id"], "date": "2031-07-05"}
    extra = [client.post(overrides_path(clinic), json=body | span, headers=staff["admin"])
             for span in ({"start_time": "14:00", "end_time": "18:00"}, {"start_time": "09:00", "end_time": "12:00"})]
    assert [response.status_code for response in extra] == [201, 201]
    assert extra[0].json["closed"] is False

    listed = client.get(overrides_path(clinic), query_string={"since": "2031-07-05"}, headers=staff["clinician"]).json
    assert [(row["date"], row["start_time"]) for row in listed] == [("2031-07-05", "09:00"), ("2031-07-05", "14:00")]
    assert len(client.get(overrides_path(clinic), headers=staff["clinician"]).json) == 3


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {"start_time": "09:00", "end_time": "12:00"}),
        ({"start_time": "09:00", "end_time": "12:00"}, {}),
        ({}, {}),
        ({"start_time": "09:00", "end_time": "12:00"}, {"start_time": "11:00", "end_time": "13:00"}),
    ],
)
def test_conflicting_overrides_on_one_day_are_422(client, staff, clinic, first, second):
    body = {"location_id": clinic["nyc"]["id"], "date": "2031-07-04"}
    assert client.post(overrides_path(clinic), json=body | first, headers=staff["admin"]).status_code == 201
    response = client.post(overrides_path(clinic), json=body | second, headers=staff["admin"])
    assert response.status_code == 422 and response.json["code"] == "overlapping_override"


@pytest.mark.parametrize(
    "times", [{"start_time": "09:00"}, {"end_time": "09:00"}, {"start_time": "12:00", "end_time": "09:00"}]
)
def test_override_hours_need_both_ends_in_order(client, staff, clinic, times):
    body = {"location_id": clinic["nyc"]["id"], "date": "2031-07-04"} | times
    response = client.post(overrides_path(clinic), json=body, headers=staff["admin"])
    assert response.status_code == 422 and "end_time" in response.json["errors"]


def test_an_override_is_removed(client, staff, clinic):
    created = client.post(overrides_path(clinic), json={"location_id": clinic["nyc"]["id"], "date": "2031-07-04"},
                          headers=staff["admin"]).json
    assert client.delete(f"{API}/overrides/{created['id']}", headers=staff["front_desk"]).status_code == 204
    assert client.get(overrides_path(clinic), headers=staff["admin"]).json == []


# --- time off -----------------------------------------------------------------------------------------


def time_off_path(clinic) -> str:
    return f"{API}/clinicians/{clinic['therapist']['id']}/time-off"


def test_time_off_is_stored_as_instants_and_listed_until_it_has_ended(client, staff, clinic, service):
    body = {"start": "2031-03-09T09:00:00-04:00", "end": "2031-03-09T13:00:00-04:00", "reason": "Conference"}
    created = client.post(time_off_path(clinic), json=body, headers=staff["front_desk"])
    assert created.status_code == 201
    assert created.json["start"] == "2031-03-09T13:00:00+00:00" and created.json["end"] == "2031-03-09T17:00:00+00:00"
    past = {"start": "2020-01-01T09:00:00Z", "end": "2020-01-02T09:00:00Z"}
    assert client.post(time_off_path(clinic), json=past, headers=staff["front_desk"]).status_code == 201

    upcoming = client.get(time_off_path(clinic), headers=staff["clinician"]).json
    assert [row["reason"] for row in upcoming] == ["Conference"]
    since = {"since": "2019-01-01T00:00:00Z"}
    everything = client.get(time_off_path(clinic), query_string=since, headers=staff["clinician"]).json
    assert len(everything) == 2

    assert client.delete(f"{API}/time-off/{created.json['id']}", headers=staff["front_desk"]).status_code == 204
    assert client.get(time_off_path(clinic), headers=staff["clinician"]).json == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2031-03-09T13:00:00Z", "end": "2031-03-09T09:00:00Z"}, "end"),
        ({"start": "2031-03-09T13:00:00Z", "end": "2031-03-09T13:00:00Z"}, "end"),
        ({"start": "2031-03-09T09:00:00", "end": "2031-03-09T13:00:00Z"}, "start"),
        ({"start": "2031-01-01T00:00:00Z", "end": "2032-06-01T00:00:00Z"}, "end"),
        ({"start": "2031-03-09T09:00:00Z", "end": "2031-03-09T13:00:00Z", "reason": "x" * 201}, "reason"),
    ],
)
def test_invalid_time_off_is_422_naming_the_field(client, staff, clinic, body, field):
    response = client.post(time_off_path(clinic), json=body, headers=staff["admin"])
    assert response.status_code == 422 and field in response.json["errors"]


# --- roles and audit ------------------------------------------------------------------------------------


def test_admins_and_front_desk_write_schedules_clinicians_read_and_strangers_get_401(client, staff, clinic):
    time_off = {"start": "2031-03-09T09:00:00Z", "end": "2031-03-09T13:00:00Z"}
    assert add_hours(client, staff, clinic, role="clinician").status_code == 403
    assert client.post(time_off_path(clinic), json=time_off, headers=staff["clinician"]).status_code == 403
    assert client.post(overrides_path(clinic), json={"location_id": clinic["nyc"]["id"], "date": "2031-07-04"},
                       headers=staff["clinician"]).status_code == 403
    assert add_hours(client, staff, clinic, role="front_desk").status_code == 201
    assert client.get(f"{API}/clinicians/{clinic['therapist']['id']}/working-hours").status_code == 401
    assert client.post(time_off_path(clinic), json=time_off).status_code == 401


def test_every_schedule_write_leaves_an_audit_row_with_the_staff_member(client, staff, clinic, service):
    created = add_hours(client, staff, clinic, role="front_desk").json
    client.patch(f"{API}/working-hours/{created['id']}", json={"end_time": "12:00"}, headers=staff["admin"])
    off = client.post(time_off_path(clinic), json={"start": "2031-03-09T09:00:00Z", "end": "2031-03-09T13:00:00Z",
                                                   "reason": "Personal"}, headers=staff["front_desk"]).json
    client.delete(f"{API}/time-off/{off['id']}", headers=staff["front_desk"])

    audit = t.PLATFORM_TABLES["audit_log"]
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(select(audit.c.actor, audit.c.action, audit.c.detail)
                                  .where(audit.c.action.notlike("location.%"), audit.c.action.notlike("clinician.%"))
                                  .order_by(audit.c.id)).all()
    assert [(actor, action) for actor, action, _ in rows] == [
        ("staff-front_desk", "working_hours.created"),
        ("staff-admin", "working_hours.updated"),
        ("staff-front_desk", "time_off.created"),
        ("staff-front_desk", "time_off.deleted"),
    ]
    assert rows[1].detail["fields"] == ["end_time"]
    assert "Personal" not in str(rows), "the reason is content, not audit detail"


def test_two_staff_members_adding_overlapping_hours_at_once_leave_one_interval(client, staff, clinic, service):
    """The clinician's row is locked for schedule writes, so the overlap check cannot be raced."""
    app = client.application

    def attempt(start: str) -> int:
        with app.test_client() as own:
            return add_hours(own, staff, clinic, start=start, end="17:00").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(attempt, [f"{hour:02d}:00" for hour in range(8, 16)]))
    assert codes.count(201) == 1 and set(codes) <= {201, 409, 422}
    with service.runtime.engine.connect() as connection:
        assert len(connection.execute(select(t.working_hours.c.id)).all()) == 1


def test_schedules_of_an_unknown_clinician_are_404(client, staff):
    for path in ("clinicians/nope/working-hours", "clinicians/nope/overrides", "clinicians/nope/time-off"):
        assert client.get(f"{API}/{path}", headers=staff["admin"]).status_code == 404
    body = {"start": "2031-03-09T09:00:00Z", "end": "2031-03-09T13:00:00Z"}
    assert client.post(f"{API}/clinicians/nope/time-off", json=body, headers=staff["admin"]).status_code == 404
    assert client.patch(f"{API}/working-hours/nope", json={}, headers=staff["admin"]).status_code == 404

