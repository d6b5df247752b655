"""The waitlist against the real database (SQLite and PostgreSQL): freed times become offers held
for the right patient, claims book them once, lapsed and declined offers pass on."""
from __future__ import annotations

import threading
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.adapters.eligibility_client import EligibilityDecision
from kapbook_booking.domain.waitlist import WaitlistOfferUnusable, window_from
from kapbook_booking.service_layer.waitlist import JoinWaitlist
from kapbook_booking.service_layer.errors import NotEligible
from kapbook_platform.contracts import EventType
from kapbook_platform.staff.principal import StaffPrincipal
from support.clinic import ClinicBuilder, patient
from support.clock import TravellingClock

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")
# A Monday morning, far from any DST change: every time below is relative to it.
MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=NEW_YORK)
ALL_WEEK = (window_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], time(0), time(0)),)
STAFF = StaffPrincipal("staff-1", "Front Desk", "front_desk", "cred-1")


@pytest.fixture
def clock():
    return TravellingClock(MONDAY.astimezone(timezone.utc))


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
    clinic.infusion = clinic.appointment_type("infusion", 120, category="treatment", min_notice_minutes=120)
    clinic.dr_a = clinic.clinician("Dr A", [clinic.infusion])
    return clinic


def at(days: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(MONDAY.date() + timedelta(days=days), time(hour, minute), NEW_YORK)


def join(service, email: str, windows=ALL_WEEK, **extra) -> dict:
    who = patient(email) | {"timezone": "America/New_York"}
    return service.waitlist.join(JoinWaitlist("infusion", who, windows, **extra))


def book(service, start: datetime, email: str = "booked@example.org") -> dict:
    from kapbook_booking.service_layer.bookings import BookAppointment

    booking, _ = service.bookings.book(BookAppointment("infusion", start, patient(email)))
    return booking


def cancel(service, booking: dict) -> None:
    service.lifecycle.cancel_by_staff(booking["id"], STAFF, "patient called")


def offers(service, event_type: str = EventType.WAITLIST_OFFERED) -> list[dict]:
    outbox = service.runtime.tables["outbox"]
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.created_at))
        return [row.envelope["data"] for row in rows]


def token(offer_event: dict) -> str:
    return offer_event["claim_url"].rsplit("/", 1)[1]


def count(service, table, *where) -> int:
    with service.runtime.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_a_cancellation_offers_the_slot_to_the_earliest_joined_patient_once(service, clinic, clock):
    booking = book(service, at(2, 10))
    first = join(service, "first@example.org")
    clock.advance(minutes=1)
    join(service, "second@example.org")

    cancel(service, booking)
    assert service.waitlist.run_once() >= 1
    assert service.waitlist.run_once() == 0  # nothing left to do: the opening was worked through once

    [offer] = offers(service)
    assert offer["entry_id"] == first["id"] and offer["patient"]["email"] == "first@example.org"
    assert offer["start"] == at(2, 10).astimezone(timezone.utc).isoformat()
    assert datetime.fromisoformat(offer["expires_at"]) == clock.now + timedelta(minutes=30)
    # The slot is held for them: nobody else can book it meanwhile.
    assert count(service, t.bookings, t.bookings.c.status == "held", t.bookings.c.created_by == "waitlist") == 1
    from kapbook_booking.domain.model import SlotUnavailable
    with pytest.raises(SlotUnavailable):
        book(service, at(2, 10), "sneaky@example.org")


def test_claiming_an_offer_books_it_and_a_second_claim_answers_with_the_same_booking(service, clinic):
    booking = book(service, at(2, 10))
    entry = join(service, "claim@example.org")
    cancel(service, booking)
    service.waitlist.run_once()
    [offer] = offers(service)

    claimed, created = service.waitlist.claim(token(offer))
    again, created_again = service.waitlist.claim(token(offer))

    assert created and not created_again and claimed["id"] == again["id"]
    assert claimed["status"] == "booked" and claimed["patient"]["email"] == "claim@example.org"
    assert claimed["start"] == at(2, 10)
    assert [e["booking_id"] for e in offers(service, EventType.BOOKING_CREATED)].count(claimed["id"]) == 1
    with service.runtime.sessions() as session:
        assert session.execute(select(t.waitlist_entries.c.status).where(t.waitlist_entries.c.id == entry["id"])).scalar() == "booked"


def test_two_simultaneous_claims_of_one_offer_make_one_booking(service, clinic):
    booking = book(service, at(2, 10))
    join(service, "race@example.org")
    cancel(service, booking)
    service.waitlist.run_once()
    [offer] = offers(service)
    barrier, answers = threading.Barrier(2), []

    def claim() -> None:
        barrier.wait()
        answers.append(service.waitlist.claim(token(offer)))

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(created for _, created in answers) == [False, True]
    assert len({booking["id"] for booking, _ in answers}) == 1
    assert count(service, t.bookings, t.bookings.c.patient_email == "race@example.org", t.bookings.c.status == "booked") == 1


def test_an_offer_nobody_claims_passes_to_the_next_patient_when_it_lapses(service, clinic, clock):
    booking = book(service, at(2, 10))
    join(service, "slow@example.org")
    clock.advance(minutes=1)
    join(service, "next@example.org")
    cancel(service, booking)
    service.waitlist.run_once()

    clock.advance(minutes=29)
    service.waitlist.run_once()
    assert len(offers(service)) == 1  # still within its 30 minutes

    clock.advance(minutes=2)
    service.waitlist.run_once()
    first, second = offers(service)
    assert (first["patient"]["email"], second["patient"]["email"]) == ("slow@example.org", "next@example.org")
    with pytest.raises(WaitlistOfferUnusable):
        service.waitlist.claim(token(first))
    assert service.waitlist.claim(token(second))[1] is True


def test_a_declined_offer_goes_to_the_next_patient_at_once_and_never_back(service, clinic, clock):
    booking = book(service, at(2, 10))
    only_then = {"windows": (window_from(["wed"], time(10), time(12)),), "latest": at(2, 10).date()}
    join(service, "decliner@example.org", **only_then)
    clock.advance(minutes=1)
    join(service, "taker@example.org", **only_then)
    cancel(service, booking)
    service.waitlist.run_once()
    [offer] = offers(service)

    assert service.waitlist.decline(token(offer))["status"] == "declined"
    service.waitlist.run_once()
    service.waitlist.sweep()  # the slot is free but the decliner is not offered it again

    assert [o["patient"]["email"] for o in offers(service)] == ["decliner@example.org", "taker@example.org"]


def test_a_slot_freed_twice_is_offered_once(service, clinic):
    booking = book(service, at(2, 10))
    join(service, "one@example.org")
    join(service, "two@example.org")
    cancel(service, booking)
    # The same time freed again (a replayed event, a second worker): the hold already keeps it.
    with service.runtime.sessions.begin() as session:
        from kapbook_booking.adapters import waitlist_repository as wl_repo
        wl_repo.add_opening(session, clinic.infusion, clinic.dr_a, at(2, 10), "cancelled", service.clock())
    service.waitlist.run_once()
    service.waitlist.run_once()

    assert len(offers(service)) == 1
    assert count(service, t.bookings, t.bookings.c.status == "held") == 1


def test_only_a_patient_whose_windows_hold_the_slot_is_offered_it(service, clinic, clock):
    booking = book(service, at(2, 15))  # Wednesday 15:00–17:00
    join(service, "mornings@example.org", windows=(window_from(["mon", "tue", "wed", "thu", "fri"], time(8), time(12)),))
    join(service, "thursdays@example.org", windows=(window_from(["thu"], time(15), time(20)),))
    join(service, "too-short@example.org", windows=(window_from(["wed"], time(15), time(16, 30)),))
    join(service, "wed-afternoon@example.org", windows=(window_from(["wed"], time(14), time(18)),))
    cancel(service, booking)
    service.waitlist.run_once()

    assert [o["patient"]["email"] for o in offers(service)] == ["wed-afternoon@example.org"]


def test_the_match_is_found_far_down_a_long_line_read_in_pages(service, clinic, clock):
    """170 patients ahead want Thursdays only: the line is read past its first pages (32, then 128 rows)
    to the one who wants Wednesday afternoon, and nobody ahead of her is offered it."""
    booking = book(service, at(2, 15))
    thursdays = (window_from(["thu"], time(15), time(20)),)
    for index in range(170):
        join(service, f"thursday-{index}@example.org", windows=thursdays)
        clock.advance(seconds=1)
    join(service, "wed-afternoon@example.org", windows=(window_from(["wed"], time(14), time(18)),))
    cancel(service, booking)
    service.waitlist.run_once()

    assert [o["patient"]["email"] for o in offers(service)] == ["wed-afternoon@example.org"]


def test_no_offer_for_a_slot_inside_the_minimum_notice(service, clinic, clock):
    booking = book(service, at(0, 13))  # today 13:00; the notice is 2 hours
    join(service, "late@example.org")
    clock.set(at(0, 11, 30).astimezone(timezone.utc))
    cancel(service, booking)
    service.waitlist.run_once()
    assert offers(service) == []


def test_a_patient_who_became_ineligible_is_skipped(service, clock):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.infusion = clinic.appointment_type("infusion", 120, category="treatment", requires_eligibility=True)
    clinic.clinician("Dr A", [clinic.infusion])
    now = service.clock()
    with service.runtime.sessions.begin() as session:
        from kapbook_booking.adapters import repository as repo
        for screening, email, allowed in (("s-gone", "declined@example.org", True), ("s-ok", "fine@example.org", True),
                                          ("s-no", "nobody@example.org", False)):
            repo.remember_eligibility_decision(session, EligibilityDecision(screening, email, allowed, now, now + timedelta(days=90)))
    join(service, "declined@example.org", screening_id="s-gone")
    clock.advance(minutes=1)
    join(service, "fine@example.org", screening_id="s-ok")
    with pytest.raises(NotEligible):
        join(service, "nobody@example.org", screening_id="s-no")  # the gate applies at joining too
    booking = book_screened(service, at(2, 10))
    with service.runtime.sessions.begin() as session:
        repo.record_clinician_review(session, "s-gone", "declined@example.org", approved=False,
                                     reviewed_at=now, valid_until=now + timedelta(days=90))
    cancel(service, booking)
    service.waitlist.run_once()

    assert [o["patient"]["email"] for o in offers(service)] == ["fine@example.org"]


def book_screened(service, start):
    from kapbook_booking.service_layer.bookings import BookAppointment

    return service.bookings.book(BookAppointment("infusion", start, patient("fine@example.org"), screening_id="s-ok"))[0]


def test_leaving_ends_the_entry_and_passes_its_offer_on(service, clinic, clock):
    booking = book(service, at(2, 10))
    leaver = join(service, "leaver@example.org")
    clock.advance(minutes=1)
    join(service, "stayer@example.org")
    cancel(service, booking)
    service.waitlist.run_once()

    assert service.waitlist.leave(leaver["leave_url"].rsplit("/", 1)[1])["status"] == "left"
    service.waitlist.run_once()
    assert [o["patient"]["email"] for o in offers(service)] == ["leaver@example.org", "stayer@example.org"]


def test_staff_offer_a_free_slot_by_hand(service, clinic):
    entry = join(service, "by-hand@example.org")
    offer = service.waitlist.offer_by_hand(entry["id"], at(3, 11), clinic.dr_a, STAFF)
    assert offer["status"] == "open" and offer["start"] == at(3, 11)
    [event] = offers(service)
    assert event["entry_id"] == entry["id"]
    listing = service.waitlist.waitlist_of("infusion")
    assert listing["entries"][0]["offers"][0]["offered_by"] == "staff:staff-1"


def test_the_sweep_offers_a_slot_that_opened_without_a_cancellation(service, clinic, clock):
    # Dr A works only 8–10 on weekdays at first; every slot taken; a patient waits for an afternoon.
    with service.runtime.sessions.begin() as session:
        session.execute(t.working_hours.update().values(end_time=time(10)))
    join(service, "afternoon@example.org", windows=(window_from(["tue"], time(13), time(17)),))
    assert service.waitlist.sweep() == 0

    with service.runtime.sessions.begin() as session:
        session.execute(t.working_hours.update().values(end_time=time(18)))  # hours extended
    assert service.waitlist.sweep() == 1
    [offer] = offers(service)
    start = datetime.fromisoformat(offer["start"]).astimezone(NEW_YORK)
    assert start.weekday() == 1 and time(13) <= start.time() <= time(15)
    assert service.waitlist.sweep() == 0  # they hold an offer now


def test_entries_expire_after_their_days(service, clinic, clock):
    entry = join(service, "patient@example.org")
    clock.advance(days=61)
    service.waitlist.run_once()
    assert service.waitlist.waitlist_of("infusion")["entries"] == []
    assert service.waitlist.waitlist_of("infusion", include_closed=True)["entries"][0]["id"] == entry["id"]


def test_an_unclaimed_offers_hold_lapses_with_it(service, clinic, clock):
    booking = book(service, at(2, 10))
    join(service, "only@example.org")
    cancel(service, booking)
    service.waitlist.run_once()
    clock.advance(minutes=31)
    service.waitlist.run_once()
    # Nobody else waits: the slot is simply free again.
    assert book(service, at(2, 10), "walk-in@example.org")["status"] == "booked"


def test_the_console_lists_the_waitlist_and_staff_offer_a_time_by_hand(service, clinic):
    import re

    from kapbook_booking.entrypoints.app import create_app
    from support.clinic import add_test_staff_member, console_sign_in, csrf_of

    client = create_app(service).test_client()
    member = add_test_staff_member(service.runtime.sessions, "front_desk")
    assert console_sign_in(client, member["email"]).status_code == 303
    entry = join(service, "console@example.org", windows=(window_from(["tue", "thu"], time(15), time(20)),))

    listing = client.get("/staff/waitlist?type=infusion&tz=America/New_York").get_data(as_text=True)
    assert "Pat Example" in listing and "Tue, Thu 15:00–20:00" in listing and "1 entry" in listing

    day = at(3, 9).date().isoformat()
    with_times = client.get(f"/staff/waitlist?type=infusion&tz=America/New_York&offer_for={entry['id']}&day={day}")
    slot = re.search(r'name="slot" value="([^"]+)"', with_times.get_data(as_text=True)).group(1)
    csrf = csrf_of(client, "/staff/waitlist?type=infusion")
    offered = client.post(f"/staff/waitlist/{entry['id']}/offer",
                          data={"csrf_token": csrf, "slot": slot, "type": "infusion", "tz": "America/New_York"})
    assert offered.status_code == 303
    assert "Held for them" in client.get(offered.headers["Location"]).get_data(as_text=True)
    [event] = offers(service)
    assert event["start"] == datetime.fromisoformat(slot.split("|")[0]).astimezone(timezone.utc).isoformat()

    refused = client.post(f"/staff/waitlist/{entry['id']}/offer", data={"csrf_token": csrf, "slot": "not a time"})
    assert refused.status_code == 422 and "Please choose one of the free times shown." in refused.get_data(as_text=True)
    removed = client.post(f"/staff/waitlist/{entry['id']}/remove", data={"csrf_token": csrf, "type": "infusion"})
    assert removed.status_code == 303
    assert count(service, t.bookings, t.bookings.c.status == "held") == 0  # its held offer passed on (nobody else waits)
