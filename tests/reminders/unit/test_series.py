"""A treatment series on the fakes: one confirmation with one invite per session, one email for a cancellation.

The series and session events may arrive in any order and more than once; the patient still
gets exactly one confirmation, every session's reminders, and never a notice per cancelled session.
"""
from __future__ import annotations

import sys
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.domain.booking import SeriesPlace
from kapbook_reminders.domain.plan import SERIES_SETTLE, MessageKind, plan_for_cancellation, plan_messages
from kapbook_reminders.domain.privacy import find_health_terms, html_text, preview_of, without_names
from kapbook_reminders.domain.series import COVERED_BY_SERIES, NOTHING_TO_COME

sys.path.insert(0, str(Path(__file__).parent))

from reminders_fakes import BOOKED_AT, PATIENT, PLANS, START, Reminders, booking_data  # noqa: E402 - path set above

SERIES_ID = "0d9f4b8e-6a51-4c3e-9a57-5e2b7c1d0a60"
PROTOCOL = {"id": "proto-iv", "name": "IV induction"}
SIZE = 6
CLINIC = "Harbor Clinic"
NEW_YORK = ZoneInfo("America/New_York")
JOIN_URL = "https://meet.harbor.example/kapbook-r00m-s3cr3t"


def session_id(position: int) -> str:
    return f"5b0c7a7e-2f0c-4c61-9d55-00000000000{position}"


def session(position: int, *, sequence: int = 0, status: str = "booked", days: int | None = None, **changes: Any) -> dict:
    """Session ``position`` of the series: Tuesday 9 March 2027 10:30 New York, then every two days at 10:30.

    New York moves its clocks on Sunday 14 March: sessions 4 to 6 are an hour earlier in UTC.
    """
    local = START.astimezone(NEW_YORK) + timedelta(days=2 * (position - 1) if days is None else days)
    start = local.replace(tzinfo=None).replace(tzinfo=NEW_YORK).astimezone(UTC)
    place = {"series_id": SERIES_ID, "protocol_name": PROTOCOL["name"], "position": position, "size": SIZE}
    return booking_data(start=start, sequence=sequence, status=status, booking_id=session_id(position),
                        manage_url=f"https://book.harbor.example/manage/tok-{position}", series=place) | changes


def series_booked(sessions: list[dict]):
    patient = sessions[0]["patient"]
    data = {"series_id": SERIES_ID, "protocol": PROTOCOL, "patient": patient, "sessions": sessions,
            "booked_at": BOOKED_AT.isoformat()}
    return make_envelope(EventType.SERIES_BOOKED, "/kapbook/booking", data)


def series_cancelled(cancelled: list[int], kept: list[int], patient: dict | None = None):
    data = {"series_id": SERIES_ID, "protocol": PROTOCOL, "patient": patient or session(1)["patient"],
            "cancelled_booking_ids": [session_id(p) for p in cancelled],
            "kept_booking_ids": [session_id(p) for p in kept], "cancelled_at": BOOKED_AT.isoformat()}
    return make_envelope(EventType.SERIES_CANCELLED, "/kapbook/booking", data)


def booking_event(reminders: Reminders, event_type: str, data: dict) -> None:
    reminders.planner.on_booking_event(None, make_envelope(event_type, "/kapbook/booking", data))


def all_sessions(**changes: Any) -> list[dict]:
    return [session(position, **changes) for position in range(1, SIZE + 1)]


@pytest.fixture
def reminders(branding) -> Reminders:
    return Reminders.build(branding)


def planned(reminders: Reminders) -> dict[str, str]:
    """dedupe key -> status of everything planned."""
    return {row["dedupe_key"]: row["status"] for row in reminders.store.messages.values()}


def invites(email) -> list[Calendar]:
    """Every attached invite, parsed, in attachment order."""
    return [Calendar.from_ical(part.get_payload(decode=True)) for part in email.iter_attachments()
            if part.get_filename().endswith(".ics")]


def vevent(calendar: Calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def text_of(email) -> str:
    return email.get_body(("plain",)).get_content()


def assert_private_outside_the_body(email) -> None:
    """Subject, sender and previews (text, HTML with and without the preheader) name no treatment."""
    assert not find_health_terms(str(email["Subject"])), email["Subject"]
    assert not find_health_terms(str(email["From"]))
    people = ("Alex Morgan", "Dr Rivera")
    html = email.get_body(("html",)).get_content()
    for text in (text_of(email), html_text(html, include_preheader=True), html_text(html, include_preheader=False)):
        assert not find_health_terms(without_names(preview_of(text), people)), preview_of(text)
    assert PROTOCOL["name"] not in str(email["Subject"])


# --- one confirmation, whichever event comes first ----------------------------------------------


def test_series_booked_sends_one_confirmation_with_one_request_invite_per_session(reminders):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))

    assert reminders.dispatcher.dispatch_all_due() == 1
    (email,) = reminders.sender.sent
    assert email["Subject"] == f"Your appointments from Tuesday 9 March – {CLINIC}"
    assert_private_outside_the_body(email)
    text = text_of(email)
    for position in range(1, SIZE + 1):
        assert f"Session {position} of {SIZE}" in text
        assert f"https://book.harbor.example/manage/tok-{position}" in text
    assert "Tuesday 9 March 2027, 10:30 to 12:30 (Eastern Time — America/New_York)" in text
    assert "Monday 15 March 2027, 10:30 to 12:30 (Eastern Time" in text  # after the DST change: the same wall clock
    assert "With: Dr Rivera" in text and "100 Harbor Street" in text
    assert "These appointments are your course: IV induction." in text
    calendars = invites(email)
    assert [part.get_filename() for part in email.iter_attachments()] == [f"session-{p}.ics" for p in range(1, 7)]
    assert {str(calendar["METHOD"]) for calendar in calendars} == {"REQUEST"}
    assert [(str(vevent(c)["UID"]), vevent(c)["SEQUENCE"]) for c in calendars] == [
        (f"{session_id(p)}@kapbook", 0) for p in range(1, 7)
    ]
    assert vevent(calendars[3])["DTSTART"].dt.replace(tzinfo=None).isoformat() == "2027-03-15T10:30:00"
    assert not reminders.store.by_kind(MessageKind.CONFIRMATION)  # no confirmation per session


def test_either_order_plans_the_same_messages_and_one_confirmation(branding):
    series_first, sessions_first = Reminders.build(branding), Reminders.build(branding)
    series_first.planner.on_series_booked(None, series_booked(all_sessions()))
    for data in all_sessions():
        booking_event(series_first, EventType.BOOKING_CREATED, data)
        booking_event(sessions_first, EventType.BOOKING_CREATED, data)
    sessions_first.planner.on_series_booked(None, series_booked(all_sessions()))

    assert planned(series_first) == planned(sessions_first)
    for reminders in (series_first, sessions_first):
        assert len(reminders.store.by_kind(MessageKind.SERIES_CONFIRMATION)) == 1
        assert not reminders.store.by_kind(MessageKind.CONFIRMATION)
        for position in range(1, SIZE + 1):  # every session keeps its reminders and preparation message
            kinds = sorted(row["kind"] for row in reminders.store.messages.values() if row["booking_id"] == session_id(position))
            assert kinds == ["check_in_before_dose", "follow_up", "preparation", "reminder", "reminder", "reminder"]
        assert reminders.dispatcher.dispatch_all_due() == 1
        assert len(reminders.sender.sent) == 1


def test_a_session_booking_created_alone_plans_reminders_but_no_confirmation(reminders):
    booking_event(reminders, EventType.BOOKING_CREATED, session(1))

    assert not reminders.store.by_kind(MessageKind.CONFIRMATION)
    assert len(reminders.store.by_kind(MessageKind.REMINDER)) == 3
    assert len(reminders.store.by_kind(MessageKind.PREPARATION)) == 1
    assert reminders.dispatcher.dispatch_all_due() == 0


def test_series_booked_twice_plans_and_sends_one_confirmation(reminders):
    event = series_booked(all_sessions())
    reminders.planner.on_series_booked(None, event)
    first = planned(reminders)
    reminders.dispatcher.dispatch_all_due()
    reminders.clock.advance(minutes=5)
    reminders.planner.on_series_booked(None, event)
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))  # the same, republished with a new id

    assert planned(reminders).keys() == first.keys()
    assert reminders.dispatcher.dispatch_all_due() == 0
    assert len(reminders.sender.sent) == 1


def test_sessions_without_their_place_in_the_series_event_still_get_no_confirmation_of_their_own(reminders):
    bare = [{key: value for key, value in data.items() if key != "series"} for data in all_sessions()]
    reminders.planner.on_series_booked(None, series_booked(bare))

    assert not reminders.store.by_kind(MessageKind.CONFIRMATION)
    reminders.dispatcher.dispatch_all_due()
    assert "Session 6 of 6" in text_of(reminders.sender.sent[0])


def test_a_session_moved_before_the_series_event_arrived_is_confirmed_at_its_new_time(reminders):
    booking_event(reminders, EventType.BOOKING_CREATED, session(2))
    booking_event(reminders, EventType.BOOKING_RESCHEDULED, session(2, sequence=1, days=3))
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))  # its sequence-0 snapshot, late

    assert not [row for row in reminders.store.messages.values()
                if row["booking_id"] == session_id(2) and row["sequence"] == 0 and row["status"] == "scheduled"]
    reminders.dispatcher.dispatch_all_due()
    confirmation = next(e for e in reminders.sender.sent if e["Subject"].startswith("Your appointments"))
    second = vevent(invites(confirmation)[1])
    assert (str(second["UID"]), second["SEQUENCE"]) == (f"{session_id(2)}@kapbook", 1)
    assert second["DTSTART"].dt.replace(tzinfo=None).isoformat() == "2027-03-12T10:30:00"
    assert "Friday 12 March 2027, 10:30" in text_of(confirmation)


def test_a_session_cancelled_before_the_confirmation_goes_out_is_left_out_of_it(reminders):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))
    booking_event(reminders, EventType.BOOKING_CANCELLED, session(6, sequence=1, status="cancelled"))

    reminders.dispatcher.dispatch_all_due()
    (confirmation,) = [e for e in reminders.sender.sent if e["Subject"].startswith("Your appointments")]
    assert len(invites(confirmation)) == 5
    assert "Session 6 of 6" not in text_of(confirmation)


def test_a_confirmation_whose_sessions_are_all_gone_is_not_sent(reminders):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))
    reminders.clock.now = START + timedelta(days=11)  # the dispatcher was down for the whole course

    reminders.dispatcher.dispatch_all_due()
    row = reminders.one(MessageKind.SERIES_CONFIRMATION)
    assert (row["status"], row["result"]) == ("cancelled", f"not sent: {NOTHING_TO_COME}")


def test_telehealth_sessions_have_their_join_link_in_the_body_and_invite_only(reminders):
    video = {"code": "integration-session", "name": "Integration session", "category": "integration",
             "modality": "telehealth"}
    sessions = [session(p, appointment_type=video, join_url=f"{JOIN_URL}-{p}") for p in (1, 2)]
    reminders.planner.on_series_booked(None, series_booked(sessions))

    reminders.dispatcher.dispatch_all_due()
    (email,) = reminders.sender.sent
    assert f"{JOIN_URL}-1" in text_of(email) and f'href="{JOIN_URL}-2"' in email.get_body(("html",)).get_content()
    assert JOIN_URL not in str(email["Subject"])
    assert_private_outside_the_body(email)
    assert str(vevent(invites(email)[0])["CONFERENCE"]) == f"{JOIN_URL}-1"


def test_a_reminder_of_a_series_session_says_where_it_sits_in_the_course(reminders):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))
    reminders.dispatcher.dispatch_all_due()
    reminders.clock.now = START + timedelta(days=4) - timedelta(hours=24)  # 24 h before session 3

    reminders.dispatcher.dispatch_all_due()
    (reminder,) = [e for e in reminders.sender.sent
                   if e["Subject"] == f"Reminder: your appointment on Saturday 13 March – {CLINIC}"]
    assert "Course: Session 3 of 6 of IV induction" in text_of(reminder)
    assert_private_outside_the_body(reminder)


# --- cancelling the remaining sessions -------------------------------------------------------------


def cancel_remaining(reminders: Reminders, *, series_event_first: bool, dispatch_between: bool = False) -> None:
    """Sessions 4 to 6 cancelled, 1 to 3 kept; the session events and the series event in either order."""
    events = [lambda p=p: booking_event(reminders, EventType.BOOKING_CANCELLED, session(p, sequence=1, status="cancelled"))
              for p in (4, 5, 6)]
    series = lambda: reminders.planner.on_series_cancelled(None, series_cancelled([4, 5, 6], [1, 2, 3]))  # noqa: E731
    for step in ([series, *events] if series_event_first else [*events, series]):
        step()
        if dispatch_between:
            reminders.dispatcher.dispatch_all_due()


@pytest.mark.parametrize("series_event_first", [True, False], ids=["series-event-first", "session-events-first"])
def test_cancelling_the_remaining_sessions_sends_one_email_with_a_cancel_invite_per_session(reminders, series_event_first):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))
    reminders.dispatcher.dispatch_all_due()
    reminders.clock.advance(hours=1)

    cancel_remaining(reminders, series_event_first=series_event_first, dispatch_between=True)
    reminders.clock.advance(seconds=SERIES_SETTLE.total_seconds() + 1)
    reminders.dispatcher.dispatch_all_due()

    confirmation, cancellation = reminders.sender.sent
    assert cancellation["Subject"] == f"Your appointments from Monday 15 March have been cancelled – {CLINIC}"
    assert_private_outside_the_body(cancellation)
    text = text_of(cancellation)
    cancelled_part, kept_part = text.split("Still booked:")
    assert all(f"Session {p} of 6" in cancelled_part for p in (4, 5, 6))
    assert all(f"Session {p} of 6" in kept_part for p in (1, 2, 3))
    calendars = invites(cancellation)
    assert {str(calendar["METHOD"]) for calendar in calendars} == {"CANCEL"}
    assert [(str(vevent(c)["UID"]), vevent(c)["SEQUENCE"], str(vevent(c)["STATUS"])) for c in calendars] == [
        (f"{session_id(p)}@kapbook", 1, "CANCELLED") for p in (4, 5, 6)
    ]
    assert not [row for row in reminders.store.by_kind(MessageKind.CANCELLATION_NOTICE) if row["status"] != "cancelled"]
    assert {row["result"] for row in reminders.store.by_kind(MessageKind.CANCELLATION_NOTICE)} <= {COVERED_BY_SERIES}
    for position in (4, 5, 6):  # nothing more about the cancelled sessions
        pending = [row for row in reminders.store.messages.values()
                   if row["booking_id"] == session_id(position) and row["status"] == "scheduled"]
        assert pending == []


def test_the_series_cancelled_event_twice_sends_one_email(reminders):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))
    cancel_remaining(reminders, series_event_first=False)
    reminders.planner.on_series_cancelled(None, series_cancelled([4, 5, 6], [1, 2, 3]))

    reminders.dispatcher.dispatch_all_due()
    assert len(reminders.store.by_kind(MessageKind.SERIES_CANCELLATION)) == 1
    assert [e["Subject"].startswith("Your appointments from Monday") for e in reminders.sender.sent].count(True) == 1


def test_a_session_cancelled_on_its_own_gets_its_notice_a_little_later(reminders):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))
    reminders.dispatcher.dispatch_all_due()
    booking_event(reminders, EventType.BOOKING_CANCELLED, session(3, sequence=1, status="cancelled"))

    assert reminders.dispatcher.dispatch_all_due() == 0  # waiting for a series email that might cover it
    reminders.clock.advance(seconds=SERIES_SETTLE.total_seconds())
    assert reminders.dispatcher.dispatch_all_due() == 1
    notice = reminders.sender.sent[-1]
    assert notice["Subject"] == f"Your appointment on Saturday 13 March has been cancelled – {CLINIC}"
    assert reminders.sender.recipients() == [PATIENT, PATIENT]


def test_a_cancellation_of_unknown_sessions_is_recorded_but_not_sent(reminders):
    reminders.planner.on_series_cancelled(None, series_cancelled([4, 5, 6], [1, 2, 3]))

    assert reminders.dispatcher.dispatch_all_due() == 0
    assert reminders.one(MessageKind.SERIES_CANCELLATION)["status"] == "skipped"


def test_a_session_cancelled_before_a_late_series_event_is_neither_confirmed_nor_replanned(reminders):
    booking_event(reminders, EventType.BOOKING_CREATED, session(5))
    booking_event(reminders, EventType.BOOKING_CANCELLED, session(5, sequence=1, status="cancelled"))
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))  # its sequence-0 snapshot, late

    assert not [row for row in reminders.store.messages.values()
                if row["booking_id"] == session_id(5) and row["status"] == "scheduled" and row["sequence"] == 0]
    reminders.clock.advance(seconds=SERIES_SETTLE.total_seconds())
    reminders.dispatcher.dispatch_all_due()
    (confirmation,) = [e for e in reminders.sender.sent if e["Subject"].startswith("Your appointments")]
    assert [str(vevent(c)["UID"]) for c in invites(confirmation)] == [
        f"{session_id(p)}@kapbook" for p in (1, 2, 3, 4, 6)
    ]


def test_a_moved_series_session_says_where_it_sits_in_the_course_in_its_change_notice(reminders):
    reminders.planner.on_series_booked(None, series_booked(all_sessions()))
    booking_event(reminders, EventType.BOOKING_RESCHEDULED, session(2, sequence=1, days=3))

    reminders.dispatcher.dispatch_all_due()
    (notice,) = [e for e in reminders.sender.sent if e["Subject"].startswith("Updated:")]
    assert "Course: Session 2 of 6 of IV induction" in text_of(notice)
    assert_private_outside_the_body(notice)


# --- the rules alone --------------------------------------------------------------------------------


def test_domain_a_series_session_gets_no_confirmation_and_its_cancellation_notice_waits(make_snapshot):
    place = SeriesPlace(SERIES_ID, PROTOCOL["name"], 3, SIZE)
    alone, in_series = make_snapshot(), make_snapshot(series=place)
    plan = PLANS.for_booking(alone)

    assert MessageKind.CONFIRMATION in {m.kind for m in plan_messages(alone, plan, BOOKED_AT)}
    assert MessageKind.CONFIRMATION not in {m.kind for m in plan_messages(in_series, plan, BOOKED_AT)}
    (notice,) = plan_for_cancellation(make_snapshot(status="cancelled", sequence=1, series=place), BOOKED_AT)
    assert notice.due_at == BOOKED_AT + SERIES_SETTLE
    (single,) = plan_for_cancellation(make_snapshot(status="cancelled", sequence=1), BOOKED_AT)
    assert single.due_at == BOOKED_AT
    assert plan_for_cancellation(make_snapshot(status="cancelled", sequence=1, series=place), BOOKED_AT, covered=True) == []
    assert place.label == "Session 3 of 6"
    with pytest.raises(ValueError):
        SeriesPlace(SERIES_ID, PROTOCOL["name"], 7, SIZE)
