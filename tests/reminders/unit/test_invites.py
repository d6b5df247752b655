"""Calendar invites, parsed back with icalendar: RFC 5545 objects, RFC 5546 methods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from kapbook_reminders.domain.invites import build_invite

NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
ORGANIZER = "appointments@harbor.example"


def invite(booking, method="REQUEST"):
    raw = build_invite(booking, method, ORGANIZER, organizer_name="Harbor Clinic", now=NOW)
    return raw, Calendar.from_ical(raw)


def only_event(calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def test_request_carries_method_uid_sequence_and_confirmed_status(make_snapshot):
    booking = make_snapshot(sequence=3)

    _, calendar = invite(booking)
    event = only_event(calendar)

    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert "Kapbook" in calendar["PRODID"]
    assert event["UID"] == f"{booking.booking_id}@kapbook"
    assert event["SEQUENCE"] == 3
    assert event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTAMP") == NOW


def test_uid_stays_the_same_for_life_while_sequence_follows_the_booking(make_snapshot):
    first = only_event(invite(make_snapshot(sequence=0))[1])
    moved_start = make_snapshot().start + timedelta(days=2)
    moved = only_event(invite(make_snapshot(sequence=1, start=moved_start, end=moved_start + timedelta(hours=1)))[1])
    cancelled = only_event(invite(make_snapshot(sequence=2, status="cancelled"), "CANCEL")[1])

    assert first["UID"] == moved["UID"] == cancelled["UID"]
    assert [first["SEQUENCE"], moved["SEQUENCE"], cancelled["SEQUENCE"]] == [0, 1, 2]
    assert moved.decoded("DTSTART") == moved_start


def test_cancel_uses_method_cancel_and_status_cancelled(make_snapshot):
    _, calendar = invite(make_snapshot(sequence=5, status="cancelled"), "CANCEL")
    event = only_event(calendar)

    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 5


def test_in_person_times_carry_the_clinic_zone_with_a_matching_vtimezone(make_snapshot):
    booking = make_snapshot(patient_timezone="America/Los_Angeles", location_timezone="America/Chicago")

    raw, calendar = invite(booking)
    event = only_event(calendar)

    assert b"DTSTART;TZID=America/Chicago:20270309T093000" in raw
    assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == "America/Chicago"
    assert [zone["TZID"] for zone in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
    assert calendar.get_missing_tzids() == set()
    assert event.decoded("DTSTART") == booking.start
    assert event.decoded("DTEND") == booking.end


def test_video_call_times_carry_the_patients_zone(make_snapshot):
    booking = make_snapshot(modality="telehealth", patient_timezone="Europe/London", location_timezone="America/New_York")

    _, calendar = invite(booking)
    event = only_event(calendar)

    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert [zone["TZID"] for zone in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    assert event["LOCATION"] == "Video call — link in your email"


def test_vtimezone_places_a_start_just_after_spring_forward_correctly(make_snapshot):
    # 10:00 EDT on Sunday 14 March 2027, the day New York's clocks go forward.
    start = datetime(2027, 3, 14, 14, 0, tzinfo=UTC)
    booking = make_snapshot(start=start, end=start + timedelta(hours=1))

    raw, calendar = invite(booking)

    assert b"DTSTART;TZID=America/New_York:20270314T100000" in raw
    assert only_event(calendar).decoded("DTSTART").astimezone(UTC) == start


def test_organizer_is_the_clinic_and_the_patient_is_an_attendee_asked_to_reply(make_snapshot):
    event = only_event(invite(make_snapshot())[1])

    assert str(event["ORGANIZER"]) == f"mailto:{ORGANIZER}"
    assert event["ORGANIZER"].params["CN"] == "Harbor Clinic"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:alex@example.org"
    assert attendee.params["CN"] == "Alex Morgan"
    assert attendee.params["RSVP"] == "TRUE"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"


def test_summary_and_description_stay_generic_for_shared_calendars(make_snapshot):
    booking = make_snapshot(appointment_type_name="Spravato (esketamine) treatment", category="dosing_esketamine")

    raw, calendar = invite(booking)
    event = only_event(calendar)

    assert event["SUMMARY"] == "Appointment at Harbor Clinic"
    assert b"ketamine" not in raw.lower() and b"spravato" not in raw.lower()
    assert "at least 24 hours before" in event["DESCRIPTION"]


def test_the_manage_link_is_never_in_an_invite(make_snapshot):
    """Issue 14 finding 4: anyone who sees a shared calendar must not get the link that cancels."""
    booking = make_snapshot()

    raw, calendar = invite(booking)
    event = only_event(calendar)

    unfolded = raw.replace(b"\r\n ", b"")
    assert booking.manage_url.encode() not in unfolded and b"/manage/" not in unfolded
    assert "URL" not in event
    assert "confirmation email" in event["DESCRIPTION"]


def test_in_person_location_is_the_address(make_snapshot):
    event = only_event(invite(make_snapshot())[1])

    assert event["LOCATION"] == "100 Harbor Street, Boston, MA 02110"


def test_awkward_patient_names_survive_the_round_trip(make_snapshot):
    name = 'Zoë "Z" O\'Neil, Jr.; <b>'

    attendee = only_event(invite(make_snapshot(patient_name=name))[1])["ATTENDEE"]

    assert attendee.params["CN"] == name


def test_invite_uses_crlf_lines_folded_to_75_octets(make_snapshot):
    raw, _ = invite(make_snapshot(location_address="A very long address line " * 6))

    lines = raw.split(b"\r\n")
    assert raw.endswith(b"\r\n")
    assert all(len(line) <= 75 for line in lines)


def test_unknown_method_is_refused(make_snapshot):
    with pytest.raises(ValueError):
        invite(make_snapshot(), "PUBLISH")


JOIN_URL = "https://meet.example.org/kapbook-Zq3xRkP0bW8yT1mNcL5vAg"


def test_telehealth_invite_carries_the_join_link_as_location_and_rfc7986_conference(make_snapshot):
    booking = make_snapshot(modality="telehealth", join_url=JOIN_URL)

    raw, calendar = invite(booking)
    event = only_event(calendar)

    assert str(event["LOCATION"]) == JOIN_URL
    conference = event["CONFERENCE"]
    assert str(conference) == JOIN_URL
    assert (conference.params["VALUE"], conference.params["FEATURE"]) == ("URI", "VIDEO")
    assert conference.params["LABEL"] == "Join the video call"
    assert JOIN_URL in str(event["DESCRIPTION"])
    assert "URL" not in event
    assert JOIN_URL not in str(event["SUMMARY"])


def test_cancel_invite_of_a_telehealth_booking_drops_the_join_link(make_snapshot):
    booking = make_snapshot(modality="telehealth", join_url=JOIN_URL, status="cancelled", sequence=1)

    raw, calendar = invite(booking, "CANCEL")

    assert JOIN_URL.encode() not in raw.replace(b"\r\n ", b"")
    assert "CONFERENCE" not in only_event(calendar)
