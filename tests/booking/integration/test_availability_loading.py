"""What the availability query reads from the database: the busy ranges, time off, rooms and hours
that reach the engine, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from kapbook_booking.adapters import tables as t
from kapbook_booking.adapters import repository
from kapbook_booking.adapters.schedules import LONGEST_BLOCK, load_schedules, load_working_hours
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.domain.availability import TimeRange
from kapbook_booking.domain.model import AppointmentType
from support.clinic import ClinicBuilder, new_id

pytestmark = pytest.mark.integration

UTC = timezone.utc
NOW = datetime(2031, 3, 3, 12, 0, tzinfo=UTC)
# The window asked for, and the type: 30 minutes with 10 before and 20 after.
WINDOW = (datetime(2031, 3, 10, 5, 0, tzinfo=UTC), datetime(2031, 3, 11, 5, 0, tzinfo=UTC))
DURATION, BEFORE, AFTER = timedelta(minutes=30), timedelta(minutes=10), timedelta(minutes=20)
# What load_schedules reads: everything overlapping the window widened by the type's whole extent.
REACH = (WINDOW[0] - BEFORE - DURATION - AFTER, WINDOW[1] + DURATION + AFTER + BEFORE)
MICRO = timedelta(microseconds=1)


@pytest.fixture
def service(tmp_path, db, database_factory):
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test"))
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.type_id = clinic.appointment_type("infusion", 30, buffer_before_minutes=10, buffer_after_minutes=20,
                                             room_kind="chair")
    clinic.dr_a = clinic.clinician("Dr A", [clinic.type_id], hours=(time(9, 0, 30), time(17, 45)))
    clinic.dr_b = clinic.clinician("Dr B", [clinic.type_id])
    clinic.chair = clinic.room("chair")
    return clinic


def kind(clinic) -> AppointmentType:
    return AppointmentType(
        id=clinic.type_id, code="infusion", name="Infusion", category="consultation", duration=DURATION,
        buffer_before=BEFORE, buffer_after=AFTER, min_notice=timedelta(0), horizon=timedelta(days=90),
        slot_step=timedelta(minutes=15), modality="in_person", room_kind="chair", requires_eligibility=False,
        requires_driver=False, cancel_notice=timedelta(hours=24), reschedule_notice=timedelta(hours=24),
    )


def add_booking(clinic, clinician, blocked_start, blocked_end, status="booked", hold_expires_at=None, room=None):
    with clinic.sessions.begin() as session:
        session.execute(t.bookings.insert().values(
            id=new_id(), appointment_type_id=clinic.type_id, clinician_id=clinician, location_id=clinic.location_id,
            room_id=room, start=blocked_start, end=blocked_end, blocked_start=blocked_start, blocked_end=blocked_end,
            status=status, sequence=0, hold_expires_at=hold_expires_at, created_by="test", created_at=NOW,
            updated_at=NOW, driver_confirmed=False,
        ))


def add_time_off(clinic, clinician, start, end):
    with clinic.sessions.begin() as session:
        session.execute(t.time_off.insert().values(id=new_id(), clinician_id=clinician, start=start, end=end))


def load(service, clinic, **only):
    with service.runtime.sessions() as session:
        schedules, rooms = load_schedules(session, kind(clinic), *WINDOW, NOW, **only)
    return {s.clinician_id: s for s in schedules}, {r.room_id: r for r in rooms}


def spans(ranges) -> list[tuple[datetime, datetime]]:
    return sorted((r.start, r.end) for r in ranges)


def test_ranges_reaching_into_the_widened_window_are_read_and_those_that_only_touch_it_are_not(service, clinic):
    low, high = REACH
    inside = [(low - timedelta(hours=1), low + MICRO), (high - MICRO, high + timedelta(hours=1)),
              (WINDOW[0], WINDOW[0] + timedelta(minutes=45))]
    touching = [(low - timedelta(hours=1), low), (high, high + timedelta(hours=1))]
    for start, end in inside:
        add_booking(clinic, clinic.dr_a, start, end)
    for start, end in touching:  # another clinician: the database refuses overlaps for one
        add_booking(clinic, clinic.dr_b, start, end)
    schedules, _ = load(service, clinic)
    assert spans(schedules[clinic.dr_a].busy) == sorted(inside)
    assert schedules[clinic.dr_b].busy == ()


def test_a_booking_blocking_days_from_before_the_window_is_read_and_history_is_not(service, clinic):
    # The busy read searches only from LONGEST_BLOCK before the window: the longest booking the
    # catalogue allows (a day plus a day of buffer each side) reaching in from before it still counts.
    longest = (REACH[0] - timedelta(days=3) + timedelta(minutes=1), REACH[0] + timedelta(minutes=1))
    add_booking(clinic, clinic.dr_a, *longest)
    add_booking(clinic, clinic.dr_a, WINDOW[0] - timedelta(days=300), WINDOW[0] - timedelta(days=300) + DURATION)
    add_booking(clinic, clinic.dr_b, REACH[0] - LONGEST_BLOCK - timedelta(hours=1), REACH[0] - LONGEST_BLOCK)
    schedules, _ = load(service, clinic)
    assert spans(schedules[clinic.dr_a].busy) == [longest]
    assert schedules[clinic.dr_b].busy == ()


def test_a_booking_longer_than_the_busy_reads_allow_is_refused(service, clinic):
    start = WINDOW[0]
    values = {"id": new_id(), "appointment_type_id": clinic.type_id, "clinician_id": clinic.dr_a,
              "location_id": clinic.location_id, "room_id": None, "start": start, "end": start + DURATION,
              "blocked_start": start, "blocked_end": start + LONGEST_BLOCK + MICRO, "status": "booked", "sequence": 0,
              "created_by": "test", "created_at": NOW, "updated_at": NOW, "driver_confirmed": False}
    with clinic.sessions.begin() as session, pytest.raises(ValueError, match="LONGEST_BLOCK"):
        repository.insert_booking(session, values)


def test_the_blocked_range_buffers_included_is_what_takes_time(service, clinic):
    start = WINDOW[0] + timedelta(hours=4)
    with clinic.sessions.begin() as session:
        session.execute(t.bookings.insert().values(
            id=new_id(), appointment_type_id=clinic.type_id, clinician_id=clinic.dr_a, location_id=clinic.location_id,
            room_id=clinic.chair, start=start, end=start + DURATION, blocked_start=start - BEFORE,
            blocked_end=start + DURATION + AFTER, status="booked", sequence=0, created_by="test", created_at=NOW,
            updated_at=NOW, driver_confirmed=False,
        ))
    schedules, rooms = load(service, clinic)
    assert spans(schedules[clinic.dr_a].busy) == [(start - BEFORE, start + DURATION + AFTER)]
    assert spans(rooms[clinic.chair].busy) == [(start - BEFORE, start + DURATION + AFTER)]


def test_unexpired_holds_take_time_and_expired_holds_cancelled_and_finished_bookings_do_not(service, clinic):
    at = WINDOW[0] + timedelta(hours=3)
    add_booking(clinic, clinic.dr_a, at, at + DURATION, status="held", hold_expires_at=NOW + MICRO, room=clinic.chair)
    add_booking(clinic, clinic.dr_a, at + timedelta(hours=1), at + timedelta(hours=2), status="arrived")
    for offset, status, expires in ((2, "held", NOW), (3, "held", NOW - timedelta(minutes=1)), (4, "cancelled", None),
                                    (5, "fulfilled", None), (6, "noshow", None)):
        start = at + timedelta(hours=offset * 2)
        add_booking(clinic, clinic.dr_a, start, start + DURATION, status=status, hold_expires_at=expires, room=clinic.chair)
    schedules, rooms = load(service, clinic)
    assert spans(schedules[clinic.dr_a].busy) == [(at, at + DURATION), (at + timedelta(hours=1), at + timedelta(hours=2))]
    assert spans(rooms[clinic.chair].busy) == [(at, at + DURATION)]


def test_instants_come_back_in_utc_to_the_microsecond_and_shared_ones_are_equal(service, clinic):
    start = WINDOW[0] + timedelta(hours=2, microseconds=123456)
    end = start + timedelta(minutes=50, seconds=7)
    for clinician in (clinic.dr_a, clinic.dr_b):
        add_booking(clinic, clinician, start, end)
    add_time_off(clinic, clinic.dr_b, datetime(2031, 3, 10, 14, 30, 0, 1, tzinfo=UTC),
                 datetime(2031, 3, 12, 0, 0, tzinfo=UTC))
    schedules, _ = load(service, clinic)
    for clinician in (clinic.dr_a, clinic.dr_b):
        (busy,) = schedules[clinician].busy
        assert busy == TimeRange(start, end)
        assert busy.start.tzinfo is UTC and busy.end.tzinfo is UTC
    (off,) = schedules[clinic.dr_b].time_off
    assert (off.start, off.end) == (datetime(2031, 3, 10, 14, 30, 0, 1, tzinfo=UTC), datetime(2031, 3, 12, tzinfo=UTC))
    assert off.start.tzinfo is UTC and schedules[clinic.dr_a].time_off == ()


def test_time_off_outside_the_widened_window_is_not_read(service, clinic):
    low, high = REACH
    add_time_off(clinic, clinic.dr_a, low - timedelta(days=1), low)
    add_time_off(clinic, clinic.dr_a, high, high + timedelta(days=1))
    add_time_off(clinic, clinic.dr_a, high - MICRO, high + timedelta(days=1))
    schedules, _ = load(service, clinic)
    assert spans(schedules[clinic.dr_a].time_off) == [(high - MICRO, high + timedelta(days=1))]


def test_room_busy_ranges_follow_the_room_whoever_the_clinician(service, clinic):
    other_type = clinic.appointment_type("other", 60)
    someone_else = clinic.clinician("Dr C", [other_type])
    second = clinic.room("chair", "Chair 2")
    clinic.room("bed", "Bed 1")
    at = WINDOW[0] + timedelta(hours=5)
    add_booking(clinic, someone_else, at, at + timedelta(hours=1), room=clinic.chair)
    schedules, rooms = load(service, clinic)
    assert set(schedules) == {clinic.dr_a, clinic.dr_b}
    assert set(rooms) == {clinic.chair, second}
    assert spans(rooms[clinic.chair].busy) == [(at, at + timedelta(hours=1))]
    assert rooms[second].busy == ()


def test_weekly_hours_keep_seconds_and_effective_dates(service, clinic):
    with clinic.sessions.begin() as session:
        session.execute(t.working_hours.insert().values(
            id=new_id(), clinician_id=clinic.dr_b, location_id=clinic.location_id, weekday=0, start_time=time(18, 15),
            end_time=time(20, 0, 0, 500), effective_from=date(2031, 3, 1), effective_until=date(2031, 3, 31)))
    schedules, _ = load(service, clinic)
    hours_a = schedules[clinic.dr_a].weekly_hours
    assert sorted((h.weekday, h.start, h.end) for h in hours_a) == [(day, time(9, 0, 30), time(17, 45)) for day in range(7)]
    assert all(h.effective_from is None and h.effective_until is None for h in hours_a)
    evening = [h for h in schedules[clinic.dr_b].weekly_hours if h.start == time(18, 15)]
    assert [(h.weekday, h.end, h.effective_from, h.effective_until) for h in evening] == [
        (0, time(20, 0, 0, 500), date(2031, 3, 1), date(2031, 3, 31))]
    assert str(schedules[clinic.dr_b].zone) == "America/New_York"


def test_the_calendar_reads_the_same_hours_and_overrides_plus_locations_with_only_an_override(service, clinic):
    closed, replaced = date(2031, 3, 10), date(2031, 3, 11)
    elsewhere = new_id()
    with clinic.sessions.begin() as session:
        session.execute(t.locations.insert().values(id=elsewhere, name="Annex", timezone="America/Los_Angeles"))
        session.execute(t.schedule_overrides.insert(), [
            {"id": new_id(), "clinician_id": clinic.dr_a, "location_id": clinic.location_id, "date": closed,
             "start_time": None, "end_time": None},
            {"id": new_id(), "clinician_id": clinic.dr_a, "location_id": clinic.location_id, "date": replaced,
             "start_time": time(12), "end_time": time(14)},
            {"id": new_id(), "clinician_id": clinic.dr_a, "location_id": elsewhere, "date": replaced,
             "start_time": time(8), "end_time": time(10)},
        ])
    searched, _ = load(service, clinic)
    with service.runtime.sessions() as session:
        shown = {schedule.location_id: (schedule, name) for schedule, name in
                 load_working_hours(session, clinic.dr_a, date(2031, 3, 9), date(2031, 3, 12))}

    here, name = shown[clinic.location_id]
    assert name == "Test Clinic" and here.zone == searched[clinic.dr_a].zone
    assert set(here.weekly_hours) == set(searched[clinic.dr_a].weekly_hours)
    assert here.date_overrides == searched[clinic.dr_a].date_overrides == {closed: (), replaced: ((time(12), time(14)),)}
    annex, name = shown[elsewhere]
    assert name == "Annex" and str(annex.zone) == "America/Los_Angeles"
    assert annex.weekly_hours == () and annex.date_overrides == {replaced: ((time(8), time(10)),)}
    assert annex.busy == annex.time_off == ()


def test_one_clinician_only(service, clinic):
    add_booking(clinic, clinic.dr_b, WINDOW[0], WINDOW[0] + DURATION)
    schedules, rooms = load(service, clinic, clinician_id=clinic.dr_b)
    assert list(schedules) == [clinic.dr_b]
    assert spans(schedules[clinic.dr_b].busy) == [(WINDOW[0], WINDOW[0] + DURATION)]
    assert set(rooms) == {clinic.chair}


def test_a_search_neither_waits_for_a_booking_in_progress_nor_sees_it(service, clinic):
    from kapbook_booking.service_layer.availability import AvailabilityQuery

    day = clinic.local(3, 10)
    query = AvailabilityQuery("infusion", day.date(), day.date(), clinic.zone, clinician_id=clinic.dr_b)
    _, before = service.bookings.availability(query)
    assert day in {slot.start_utc for slot in before}
    # A writer in the middle of its transaction (on SQLite: holding the database's write lock).
    with service.runtime.sessions.begin() as writer:
        writer.execute(t.bookings.insert().values(
            id=new_id(), appointment_type_id=clinic.type_id, clinician_id=clinic.dr_b, location_id=clinic.location_id,
            room_id=clinic.chair, start=day, end=day + DURATION, blocked_start=day - BEFORE,
            blocked_end=day + DURATION + AFTER, status="booked", sequence=0, created_by="test", created_at=NOW,
            updated_at=NOW, driver_confirmed=False))
        started = datetime.now(UTC)
        _, during = service.bookings.availability(query)
        assert datetime.now(UTC) - started < timedelta(seconds=5)
        assert during == before
    _, after = service.bookings.availability(query)
    assert day not in {slot.start_utc for slot in after}


def test_the_availability_route_answers_while_a_booking_is_being_written(service, clinic):
    from kapbook_booking.entrypoints.app import create_app

    client = create_app(service).test_client()
    day = clinic.local(3, 10)
    path = (f"/api/booking/v1/availability?appointment_type=infusion&start={day.date()}&end={day.date()}"
            f"&timezone=Europe/Berlin&clinician_id={clinic.dr_b}")
    before = client.get(path)
    assert before.status_code == 200 and before.json["slots"]
    with service.runtime.sessions.begin() as writer:
        writer.execute(t.bookings.insert().values(
            id=new_id(), appointment_type_id=clinic.type_id, clinician_id=clinic.dr_b, location_id=clinic.location_id,
            room_id=clinic.chair, start=day, end=day + DURATION, blocked_start=day - BEFORE,
            blocked_end=day + DURATION + AFTER, status="booked", sequence=0, created_by="test", created_at=NOW,
            updated_at=NOW, driver_confirmed=False))
        started = datetime.now(UTC)
        during = client.get(path)
        assert datetime.now(UTC) - started < timedelta(seconds=5)
        assert during.status_code == 200 and during.json == before.json
    assert len(client.get(path).json["slots"]) < len(before.json["slots"])


@pytest.mark.postgresql_only  # SQLite has no session time zone or date style
def test_instants_do_not_depend_on_the_sessions_time_zone_or_date_style(service, clinic, db):
    from sqlalchemy import text

    start = datetime(2031, 3, 10, 23, 30, 0, 5, tzinfo=UTC)  # another day in Los Angeles
    add_booking(clinic, clinic.dr_a, start, start + DURATION)
    add_time_off(clinic, clinic.dr_b, start, start + timedelta(hours=2))
    with service.runtime.sessions() as session:
        session.execute(text("SET LOCAL TimeZone = 'America/Los_Angeles'"))
        session.execute(text("SET LOCAL DateStyle = 'SQL, DMY'"))
        schedules, _ = load_schedules(session, kind(clinic), *WINDOW, NOW)
    by_id = {s.clinician_id: s for s in schedules}
    assert by_id[clinic.dr_a].busy == (TimeRange(start, start + DURATION),)
    assert by_id[clinic.dr_b].time_off == (TimeRange(start, start + timedelta(hours=2)),)


def test_the_availability_answer_is_gzipped_for_clients_that_accept_it_and_plain_for_others(service, clinic):
    import gzip
    import json

    from kapbook_booking.entrypoints.app import create_app

    client = create_app(service).test_client()
    first = clinic.local(2, 9).date()
    path = (f"/api/booking/v1/availability?appointment_type=infusion&start={first}&end={first + timedelta(days=6)}"
            f"&timezone=Europe/Berlin")
    plain = client.get(path)
    zipped = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})

    assert plain.status_code == zipped.status_code == refused.status_code == 200
    assert plain.json["slots"] and "Content-Encoding" not in plain.headers and "Content-Encoding" not in refused.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.data)) == plain.json == refused.json
    assert len(zipped.data) * 5 < len(plain.data)
    for response in (plain, zipped, refused):
        assert "Accept-Encoding" in response.headers["Vary"]


def test_a_small_availability_answer_is_not_compressed(service, clinic):
    from kapbook_booking.entrypoints.app import create_app

    client = create_app(service).test_client()
    beyond = clinic.local(400, 9).date()  # past the type's booking horizon: no slots
    response = client.get(f"/api/booking/v1/availability?appointment_type=infusion&start={beyond}&end={beyond}"
                          f"&timezone=Europe/Berlin", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.json["slots"] == []
    assert "Content-Encoding" not in response.headers
