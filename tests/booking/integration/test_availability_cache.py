"""The availability answer cache (issue 16 §1) against the real database, SQLite and PostgreSQL: an
answer is reused only while nothing it depends on has changed, so a cached answer never shows a
taken slot; triggers (migration 0022) see every write, whatever wrote it."""
from __future__ import annotations

import random
import threading
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, update

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.domain.model import SlotUnavailable
from kapbook_booking.entrypoints.app import create_app
from kapbook_booking.entrypoints.http.bookings import availability_json
from kapbook_booking.service_layer.availability import AvailabilityQuery
from kapbook_booking.service_layer.bookings import BookAppointment, HoldSlot
from kapbook_platform.staff.principal import StaffPrincipal
from support.clinic import ClinicBuilder, new_id, patient
from support.clock import TravellingClock

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")
# A Monday 07:00, far from any DST change: every time below is relative to it.
MONDAY = datetime(2027, 3, 1, 7, 0, tzinfo=NEW_YORK)
STAFF = StaffPrincipal("staff-1", "Front Desk", "front_desk", "cred-1")


@pytest.fixture
def clock():
    return TravellingClock(MONDAY.astimezone(timezone.utc))


@pytest.fixture
def service(tmp_path, db, database_factory, clock):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           availability_cache_seconds=30)
    container = bootstrap(config, clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.consult = clinic.appointment_type("consult", 60, min_notice_minutes=120)
    clinic.infusion = clinic.appointment_type("infusion", 90, room_kind="infusion_chair", min_notice_minutes=120)
    clinic.dr_a = clinic.clinician("Dr A", [clinic.consult, clinic.infusion], hours=(time(8), time(14)))
    clinic.dr_b = clinic.clinician("Dr B", [clinic.consult, clinic.infusion], hours=(time(9), time(13)))
    clinic.chair = clinic.room("infusion_chair")
    return clinic


@pytest.fixture
def client(service):
    return create_app(service).test_client()


def ask(client, code: str = "consult", days: int = 6) -> list[dict]:
    first = MONDAY.date()
    response = client.get("/api/booking/v1/availability", query_string={
        "appointment_type": code, "start": first.isoformat(), "end": (first + timedelta(days=days)).isoformat(),
        "timezone": "America/New_York"})
    assert response.status_code == 200, response.json
    return response.json["slots"]


def uncached(service, code: str = "consult", days: int = 6) -> list[dict]:
    """The same question answered from the database, past the cache."""
    import json

    first = MONDAY.date()
    query = AvailabilityQuery(code, first, first + timedelta(days=days), "America/New_York")
    kind, slots = service.bookings.availability(query)
    return json.loads(availability_json(kind.code, query.timezone, slots, service.clinician_names()))["slots"]


def book(service, slot: dict, code: str = "consult") -> dict:
    start = datetime.fromisoformat(slot["start"])
    booking, _ = service.bookings.book(BookAppointment(code, start, patient(f"p{uuid.uuid4().hex[:6]}@example.org"),
                                                       clinician_id=slot["clinician_id"]))
    return booking


def version(service) -> int:
    with service.runtime.sessions() as session:
        return repo.availability_version(session)


def test_a_repeated_question_is_answered_from_the_cache_until_a_booking_changes_it(service, clinic, client):
    first = ask(client)
    hits = service.bookings.cache.hits
    assert ask(client) == first and service.bookings.cache.hits == hits + 1

    taken = first[0]
    book(service, taken)
    after = ask(client)
    assert not any(s["start"] == taken["start"] and s["clinician_id"] == taken["clinician_id"] for s in after)
    assert after == uncached(service)


def test_a_slot_booked_a_moment_ago_never_appears(service, clinic, client):
    """Each round: the answer is cached, another thread books one of its slots, and the very next
    answer (asked the moment the booking returns) no longer offers it."""
    for _ in range(8):
        slots = ask(client)
        taken = random.Random(len(slots)).choice(slots)
        done = threading.Event()

        def booker(slot=taken) -> None:
            book(service, slot)
            done.set()

        thread = threading.Thread(target=booker)
        thread.start()
        thread.join()
        assert done.is_set()
        assert taken not in ask(client)


def test_every_write_an_answer_depends_on_ends_the_cached_answer(service, clinic, client):
    """Whatever writes (here: plain SQL, as a script or migration would), the triggers see it."""
    sessions = service.runtime.sessions
    day = MONDAY.date() + timedelta(days=2)
    writes = [
        lambda s: s.execute(t.time_off.insert().values(id=new_id(), clinician_id=clinic.dr_a, reason="Course",
                                                       start=datetime.combine(day, time(8), NEW_YORK),
                                                       end=datetime.combine(day, time(12), NEW_YORK))),
        lambda s: s.execute(update(t.working_hours).where(t.working_hours.c.clinician_id == clinic.dr_b,
                                                          t.working_hours.c.weekday == 3).values(end_time=time(10))),
        lambda s: s.execute(t.schedule_overrides.insert().values(
            id=new_id(), clinician_id=clinic.dr_b, location_id=clinic.location_id, date=day + timedelta(days=2),
            start_time=None, end_time=None)),
        lambda s: s.execute(update(t.appointment_types).where(t.appointment_types.c.id == clinic.consult)
                            .values(slot_step_minutes=30)),
        lambda s: s.execute(update(t.clinicians).where(t.clinicians.c.id == clinic.dr_a).values(name="Dr Anna")),
        lambda s: s.execute(delete(t.clinician_appointment_types).where(
            t.clinician_appointment_types.c.clinician_id == clinic.dr_b,
            t.clinician_appointment_types.c.appointment_type_id == clinic.consult)),
    ]
    for write in writes:
        before, cached = version(service), ask(client)
        with sessions.begin() as session:
            write(session)
        assert version(service) > before
        answer = ask(client)
        assert answer == uncached(service) and answer != cached


def test_a_hold_hides_its_slot_at_once_and_its_release_shows_within_the_cache_time(service, clinic, client, clock):
    slots = ask(client, "infusion")
    held = slots[len(slots) // 2]  # days ahead: clear of the notice the travelling clock moves
    hold = service.bookings.hold(HoldSlot("infusion", datetime.fromisoformat(held["start"]),
                                          clinician_id=held["clinician_id"]))
    assert held not in ask(client, "infusion")
    service.bookings.release_hold(hold["id"])
    # Freeing a time bumps nothing (safe: the cached answer only hides a free slot) ...
    clock.advance(seconds=31)  # ... and within the cache time it shows again.
    assert held in ask(client, "infusion")


def test_notice_removes_the_first_slots_as_time_passes_without_any_write(service, clinic, client, clock):
    first = ask(client)
    earliest = datetime.fromisoformat(first[0]["start"])
    assert ask(client) == first  # from the cache
    # A minute past the moment the first slot's notice began: it can no longer be booked.
    clock.set((earliest - timedelta(minutes=119)).astimezone(timezone.utc))
    later = ask(client)
    assert all(datetime.fromisoformat(s["start"]) > earliest for s in later)
    assert later == uncached(service)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cached_answers_equal_uncached_ones_through_random_changes(service, clinic, client, clock, seed):
    """Random bookings, cancellations, holds, time off and a travelling clock; after each change and
    between them, the (cached) HTTP answer is exactly the one computed past the cache."""
    rng = random.Random(seed)
    booked: list[str] = []
    for _step in range(25):
        code = rng.choice(["consult", "infusion"])
        slots = ask(client, code)
        assert slots == uncached(service, code)
        action = rng.choice(["book", "book", "cancel", "hold", "time_off", "wait"])
        if action == "book" and slots:
            try:
                booked.append(book(service, rng.choice(slots), code)["id"])
            except SlotUnavailable:
                pytest.fail("a slot the answer offered was already taken")
        elif action == "cancel" and booked:
            service.lifecycle.cancel_by_staff(booked.pop(rng.randrange(len(booked))), STAFF, "changed plans")
        elif action == "hold" and slots:
            slot = rng.choice(slots)
            service.bookings.hold(HoldSlot(code, datetime.fromisoformat(slot["start"]), clinician_id=slot["clinician_id"]))
        elif action == "time_off":
            start = datetime.combine(MONDAY.date() + timedelta(days=rng.randrange(1, 6)), time(rng.randrange(8, 13)), NEW_YORK)
            with service.runtime.sessions.begin() as session:
                session.execute(t.time_off.insert().values(id=new_id(), clinician_id=rng.choice([clinic.dr_a, clinic.dr_b]),
                                                           start=start, end=start + timedelta(hours=1), reason="Errand"))
        else:
            clock.advance(minutes=rng.choice([5, 20, 45]))
        for code in ("consult", "infusion"):
            assert ask(client, code) == uncached(service, code)
