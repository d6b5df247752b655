"""Every calendar invite the service sends, parsed by vobject (a calendar library nobody here wrote).

The invites come out of the use cases on the fakes (planner, dispatcher, composer, templates),
as the patient receives them: a booking's confirmation, reschedule and cancellation notices, a
video call's, a clinic on UTC, and a series' confirmation and cancellation with one invite per
session. vobject must read each one (``validate=True``) and find the iTIP method, the booking's
UID and SEQUENCE, start and end at the right instant in the right zone (a TZID with its VTIMEZONE,
or UTC), and a summary, description and location that say nothing about the treatment.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.domain.compose import INVITE_METHODS, SERIES_INVITE_METHODS
from kapbook_reminders.domain.privacy import find_health_terms

sys.path.insert(0, str(Path(__file__).parent))

from reminders_fakes import BOOKED_AT, START, Reminders, booking_data  # noqa: E402 - path set above

CLINIC = "Harbor Clinic"
ORGANIZER = "mailto:appointments@harbor.example"
JOIN_URL = "https://meet.harbor.example/kapbook-r00m-7d3e"
NEW_YORK = ZoneInfo("America/New_York")
SERIES_ID = "0d9f4b8e-6a51-4c3e-9a57-5e2b7c1d0a60"
PROTOCOL = {"id": "proto-iv", "name": "IV induction"}
VIDEO_CONSULTATION = {"code": "CONSULT-VIDEO", "name": "Ketamine consultation", "category": "consultation",
                      "modality": "telehealth"}
# What an invite may never say (a shared calendar shows it): the treatment, the clinician, the course.
NEVER_IN_AN_INVITE = ("ketamine", "infusion", "consultation", "Dr Rivera", "IV induction", "Session ")


@dataclass(frozen=True)
class Expected:
    """What one invite must say, from the booking event it describes."""

    method: str
    booking_id: str
    sequence: int
    start: datetime
    end: datetime
    tzid: str | None  # None: the times are in UTC
    join_url: str | None = None
    manage_url: str = ""

    @classmethod
    def of(cls, method: str, data: dict[str, Any], tzid: str | None) -> Expected:
        return cls(method, data["booking_id"], data["sequence"], datetime.fromisoformat(data["start"]),
                   datetime.fromisoformat(data["end"]), tzid, data.get("join_url") if method == "REQUEST" else None,
                   data["manage_url"])


def deliver(reminders: Reminders, event_type: str, data: dict[str, Any]) -> list[EmailMessage]:
    """Hand one event to its use case, send what is due; the emails sent."""
    before = len(reminders.sender.sent)
    envelope = make_envelope(event_type, "/kapbook/booking", data)
    if event_type == EventType.SERIES_BOOKED:
        reminders.planner.on_series_booked(None, envelope)
    elif event_type == EventType.SERIES_CANCELLED:
        reminders.planner.on_series_cancelled(None, envelope)
    else:
        reminders.planner.on_booking_event(None, envelope)
    reminders.dispatcher.dispatch_all_due()
    return reminders.sender.sent[before:]


def calendar_parts(email: EmailMessage) -> list[tuple[str, str]]:
    """(where, text) of every calendar in the email: the inline alternative and each .ics file."""
    parts = []
    for part in email.walk():
        if part.get_content_type() == "text/calendar" or (part.get_filename() or "").endswith(".ics"):
            where = part.get_filename() or f"inline {part.get_content_type()}; method={part.get_param('method')}"
            parts.append((where, part.get_payload(decode=True).decode("utf-8")))
    return parts


def series_session(position: int, *, sequence: int = 0, status: str = "booked") -> dict[str, Any]:
    """Session ``position`` of six: 10:30 New York every other day from 9 March 2027 (clocks change on the 14th)."""
    local = START.astimezone(NEW_YORK).replace(tzinfo=None) + timedelta(days=2 * (position - 1))
    start = local.replace(tzinfo=NEW_YORK).astimezone(UTC)
    place = {"series_id": SERIES_ID, "protocol_name": PROTOCOL["name"], "position": position, "size": 6}
    return booking_data(start=start, sequence=sequence, status=status, booking_id=f"session-{position}",
                        manage_url=f"https://book.harbor.example/manage/tok-{position}", series=place)


# --- the cases: each returns (the emails with invites, what their invites must say, in order) ------------

Case = tuple[list[EmailMessage], list[Expected]]


def single_request(reminders: Reminders) -> Case:
    data = booking_data(location={"id": "loc-2", "name": "Harbor Clinic Lakeside", "timezone": "America/Chicago",
                                  "address": "1 Lake Street, Chicago, IL 60601"},
                        patient={"name": "Alex Morgan", "email": "alex@example.org", "timezone": "America/Los_Angeles"})
    # In person: the clinic's zone, wherever the patient lives.
    return deliver(reminders, EventType.BOOKING_CREATED, data), [Expected.of("REQUEST", data, "America/Chicago")]


def reschedule(reminders: Reminders) -> Case:
    deliver(reminders, EventType.BOOKING_CREATED, booking_data())
    moved = booking_data(sequence=1, start=START + timedelta(days=1, hours=2))
    return deliver(reminders, EventType.BOOKING_RESCHEDULED, moved), [Expected.of("REQUEST", moved, "America/New_York")]


def cancel(reminders: Reminders) -> Case:
    deliver(reminders, EventType.BOOKING_CREATED, booking_data())
    cancelled = booking_data(sequence=1, status="cancelled")
    return deliver(reminders, EventType.BOOKING_CANCELLED, cancelled), [Expected.of("CANCEL", cancelled, "America/New_York")]


def video_call(reminders: Reminders) -> Case:
    data = booking_data(appointment_type=VIDEO_CONSULTATION, join_url=JOIN_URL,
                        patient={"name": "Alex Morgan", "email": "alex@example.org", "timezone": "Europe/London"})
    # A video call: the patient's own zone, and the join link as CONFERENCE.
    return deliver(reminders, EventType.BOOKING_CREATED, data), [Expected.of("REQUEST", data, "Europe/London")]


def video_call_cancelled(reminders: Reminders) -> Case:
    london = {"name": "Alex Morgan", "email": "alex@example.org", "timezone": "Europe/London"}
    deliver(reminders, EventType.BOOKING_CREATED, booking_data(appointment_type=VIDEO_CONSULTATION, join_url=JOIN_URL,
                                                               patient=london))
    cancelled = booking_data(appointment_type=VIDEO_CONSULTATION, join_url=JOIN_URL, patient=london, sequence=1,
                             status="cancelled")
    return deliver(reminders, EventType.BOOKING_CANCELLED, cancelled), [Expected.of("CANCEL", cancelled, "Europe/London")]


def clinic_on_utc(reminders: Reminders) -> Case:
    data = booking_data(location={"id": "loc-3", "name": "Harbor Clinic Offshore", "timezone": "UTC", "address": None},
                        patient={"name": "Alex Morgan", "email": "alex@example.org", "timezone": "UTC"})
    return deliver(reminders, EventType.BOOKING_CREATED, data), [Expected.of("REQUEST", data, None)]


def series_confirmation(reminders: Reminders) -> Case:
    sessions = [series_session(position) for position in range(1, 7)]
    for data in sessions:
        deliver(reminders, EventType.BOOKING_CREATED, data)
    emails = deliver(reminders, EventType.SERIES_BOOKED, {
        "series_id": SERIES_ID, "protocol": PROTOCOL, "patient": sessions[0]["patient"], "sessions": sessions,
        "booked_at": BOOKED_AT.isoformat()})
    return emails, [Expected.of("REQUEST", data, "America/New_York") for data in sessions]


def series_cancellation(reminders: Reminders) -> Case:
    series_confirmation(reminders)
    cancelled = [series_session(position, sequence=1, status="cancelled") for position in (4, 5, 6)]
    for data in cancelled:
        deliver(reminders, EventType.BOOKING_CANCELLED, data)
    emails = deliver(reminders, EventType.SERIES_CANCELLED, {
        "series_id": SERIES_ID, "protocol": PROTOCOL, "patient": cancelled[0]["patient"],
        "cancelled_booking_ids": [data["booking_id"] for data in cancelled],
        "kept_booking_ids": ["session-1", "session-2", "session-3"], "cancelled_at": BOOKED_AT.isoformat()})
    return emails, [Expected.of("CANCEL", data, "America/New_York") for data in cancelled]


CASES = {
    "confirmation": single_request,
    "reschedule_notice": reschedule,
    "cancellation_notice": cancel,
    "confirmation (video call)": video_call,
    "cancellation_notice (video call)": video_call_cancelled,
    "confirmation (clinic on UTC)": clinic_on_utc,
    "series_confirmation": series_confirmation,
    "series_cancellation": series_cancellation,
}


# --- the checks -------------------------------------------------------------------------------------


def read(text: str, where: str) -> vobject.base.Component:
    """The one calendar in ``text``, read and validated by vobject."""
    calendars = list(vobject.readComponents(text, validate=True))
    assert len(calendars) == 1, f"{where}: {len(calendars)} calendars"
    return calendars[0]


def check_times(event: vobject.base.Component, calendar: vobject.base.Component, expected: Expected, where: str) -> None:
    """DTSTART and DTEND: the booking's instants, in its zone with that zone's VTIMEZONE, or in UTC."""
    zones = {zone.tzid.value: zone for zone in calendar.contents.get("vtimezone", [])}
    for name, instant in (("dtstart", expected.start), ("dtend", expected.end)):
        line = event.contents[name][0]
        moment = line.value
        assert isinstance(moment, datetime) and moment.utcoffset() is not None, f"{where}: {name} is floating"
        assert moment == instant, f"{where}: {name} {moment} is not {instant}"
        tzid = (line.params.get("X-VOBJ-ORIGINAL-TZID") or line.params.get("TZID") or [None])[0]
        if expected.tzid is None:
            assert tzid is None and moment.utcoffset() == timedelta(0), f"{where}: {name} not in UTC"
            continue
        assert tzid == expected.tzid, f"{where}: {name} has TZID {tzid}, expected {expected.tzid}"
        assert tzid in zones, f"{where}: no VTIMEZONE for {tzid}"
        # The offset vobject took from the embedded VTIMEZONE matches the zone database's.
        assert moment.utcoffset() == instant.astimezone(ZoneInfo(tzid)).utcoffset(), f"{where}: {name} offset"
        assert moment.astimezone(ZoneInfo(tzid)).replace(tzinfo=None) == moment.replace(tzinfo=None)


def check_invite(text: str, expected: Expected, where: str) -> None:
    calendar = read(text, where)
    assert calendar.version.value == "2.0" and calendar.method.value == expected.method, where
    (event,) = calendar.contents["vevent"]
    assert event.uid.value == f"{expected.booking_id}@kapbook", where
    assert int(event.sequence.value) == expected.sequence, where
    assert event.status.value == ("CANCELLED" if expected.method == "CANCEL" else "CONFIRMED"), where
    assert event.organizer.value == ORGANIZER and event.attendee.value == "mailto:alex@example.org", where
    check_times(event, calendar, expected, where)
    # What a shared calendar shows: the clinic's name, nothing of the treatment.
    assert event.summary.value == f"Appointment at {CLINIC}", where
    for name in ("summary", "description", "location"):
        value = event.contents[name][0].value
        assert not find_health_terms(value), f"{where}: {name} {value!r}"
        assert not [word for word in NEVER_IN_AN_INVITE if word.lower() in value.lower()], f"{where}: {name} {value!r}"
    # The manage link (it cancels or moves the appointment) is never in an invite, folded or not.
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    assert expected.manage_url and expected.manage_url not in unfolded, f"{where}: the manage link is in the invite"
    assert "/manage/" not in unfolded and "url" not in event.contents, f"{where}: a manage URL in the invite"
    assert "confirmation email" in event.description.value, where
    conference = event.contents.get("conference", [])
    if expected.join_url is None:
        assert not conference and JOIN_URL not in text, f"{where}: a join link in an invite that must not have one"
    else:
        (line,) = conference
        assert line.value == expected.join_url, where
        assert line.params["VALUE"] == ["URI"] and line.params["FEATURE"] == ["VIDEO"], f"{where}: {line.params}"


@pytest.mark.parametrize("case", list(CASES))
def test_vobject_reads_every_invite_with_its_method_uid_sequence_and_times(branding, case):
    emails, expected = CASES[case](Reminders.build(branding))
    with_invites = [email for email in emails if calendar_parts(email)]
    assert len(with_invites) == 1, [str(email["Subject"]) for email in emails]
    (email,) = with_invites
    parts = calendar_parts(email)
    if len(expected) == 1:  # one booking: the inline alternative and invite.ics, the same calendar
        assert [where.split(";")[0] for where, _ in parts] == ["inline text/calendar", "invite.ics"]
        assert parts[0][0].endswith(f"method={expected[0].method}")
        assert parts[0][1].replace("\r\n", "\n") == parts[1][1].replace("\r\n", "\n")
        expected = expected * 2
    else:  # a series: one file per session, in series order
        assert len(parts) == len(expected)
    for (where, text), wanted in zip(parts, expected, strict=True):
        check_invite(text, wanted, f"{case}, {where}")


def test_the_series_invites_keep_the_wall_clock_across_the_change_of_clocks(branding):
    emails, _ = series_confirmation(Reminders.build(branding))
    (email,) = [email for email in emails if calendar_parts(email)]
    starts = [read(text, where).vevent.dtstart.value for where, text in calendar_parts(email)]
    assert [moment.strftime("%a %d %H:%M") for moment in starts] == [
        "Tue 09 10:30", "Thu 11 10:30", "Sat 13 10:30", "Mon 15 10:30", "Wed 17 10:30", "Fri 19 10:30"]
    assert {moment.utcoffset() for moment in starts} == {timedelta(hours=-5), timedelta(hours=-4)}


def test_every_kind_of_email_with_an_invite_is_read_here():
    """A new kind with an invite must get a case above (its name before any ' (variant)')."""
    covered = {name.split(" (")[0] for name in CASES}
    assert covered == {kind.value for kind in (*INVITE_METHODS, *SERIES_INVITE_METHODS)}
