"""A booking's whole plan, sent at the right moments: the clock moves, the dispatcher runs, the SMTP sink listens."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kapbook_platform.contracts import EventType
from reminders_harness import CLINIC, PUBLIC_URL, START, body, booking_data, check_email, event_of, invite_of

pytestmark = pytest.mark.integration

END = START + timedelta(hours=2)
SECOND = timedelta(seconds=1)
DAY = "Tuesday 9 March"


def test_dosing_booking_gets_each_message_exactly_at_its_time(harness):
    harness.book("b-dosing-1", category="dosing_iv")
    sink = harness.sink

    sent = harness.at(harness.clock())
    assert [m["Subject"] for m in sent] == [f"Your appointment on {DAY} – {CLINIC}"]
    confirmation = check_email(sent[0])
    assert str(invite_of(confirmation)["METHOD"]) == "REQUEST"

    timeline = [
        (START - timedelta(hours=72), [f"Reminder: your appointment on {DAY} – {CLINIC}"]),
        (START - timedelta(hours=48), [f"Getting ready for your appointment on {DAY} – {CLINIC}"]),
        # A dose: the day before, the measurement-based check-in comes with the reminder.
        (START - timedelta(hours=24), sorted([f"Reminder: your appointment on {DAY} – {CLINIC}",
                                              f"A quick check-in before your appointment on {DAY} – {CLINIC}"])),
        (START - timedelta(hours=2), [f"Reminder: your appointment on {DAY} – {CLINIC}"]),
        (END + timedelta(hours=24), [f"After your appointment on {DAY} – {CLINIC}"]),
    ]
    for moment, subjects in timeline:
        assert harness.at(moment - SECOND) == [], f"something was sent before {moment}"
        arrived = harness.at(moment)
        assert sorted(m["Subject"] for m in arrived) == subjects, moment
        for message in arrived:
            check_email(message)

    assert harness.at(END + timedelta(days=30)) == []
    assert len(sink.messages()) == 7
    assert len(sink.maildir_messages()) == 7
    assert len({m["Message-ID"] for m in sink.messages()}) == 7

    rows = harness.rows("b-dosing-1")
    assert [(row["kind"], row["status"]) for row in rows] == [
        ("confirmation", "sent"),
        ("reminder", "sent"),
        ("preparation", "sent"),
        ("reminder", "sent"),
        ("check_in_before_dose", "sent"),
        ("reminder", "sent"),
        ("follow_up", "sent"),
    ]
    assert all(row["sent_at"] == row["due_at"] for row in rows), "each message went out at its due time"


def test_emails_carry_local_times_policy_checklist_and_only_follow_ups_can_be_unsubscribed(harness):
    harness.book("b-dosing-2", category="dosing_iv", patient_timezone="Europe/Berlin")
    (confirmation,) = harness.at(harness.clock())
    (preparation,) = [m for m in harness.at(START - timedelta(hours=48)) if "Getting ready" in m["Subject"]]
    (follow_up,) = harness.at(END + timedelta(hours=24))

    text = body(confirmation)
    # The patient is in Berlin: their own time first, with the zone named; the clinic's time too.
    assert "16:30" in text and "Europe/Berlin" in text
    assert "10:30" in text and "America/New_York" in text
    assert "Please cancel or reschedule at least 24 hours before your appointment." in text
    assert f"{PUBLIC_URL}/manage/tok-b-dosing" in text
    assert "No solid food after" in text and "drive" in text

    steps = body(preparation)
    for words in ("No solid food after", "Clear liquids", "No alcohol or recreational drugs", "drive you home",
                  "comfortable clothes", "Arrive 15 minutes early"):
        assert words in steps
    assert f"{PUBLIC_URL}/manage/tok-b-dosing" in body(preparation, "html")

    for essential in (confirmation, preparation):
        assert essential["List-Unsubscribe"] is None
    link = follow_up["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{PUBLIC_URL}/api/reminders/v1/unsubscribe?token=")
    assert "@" not in link and "example.org" not in link, "the address is not readable from the link"
    assert follow_up["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in body(follow_up)
    assert invite_of(follow_up) is None

    event = event_of(invite_of(confirmation))
    assert str(event["UID"]) == "b-dosing-2@kapbook" and event["SEQUENCE"] == 0
    assert event["DTSTART"].params["TZID"] == "America/New_York"  # in person: the clinic's zone
    assert event["DTSTART"].dt.replace(tzinfo=None).isoformat() == "2027-03-09T10:30:00"


def test_booking_three_hours_ahead_gets_confirmation_and_two_hour_reminder_only(harness):
    start = harness.clock() + timedelta(hours=3)
    harness.book("b-soon", start, category="evaluation", minutes=60)

    assert harness.statuses("b-soon") == {
        "0:confirmation:at-booking": "scheduled",
        "0:reminder:72h-before": "skipped",
        "0:reminder:24h-before": "skipped",
        "0:reminder:2h-before": "scheduled",
    }
    first = harness.at(harness.clock())
    assert [m["Subject"] for m in first] == [f"Your appointment on Thursday 4 March – {CLINIC}"]
    assert harness.at(start - timedelta(hours=2) - SECOND) == []
    second = harness.at(start - timedelta(hours=2))
    assert [m["Subject"] for m in second] == [f"Reminder: your appointment on Thursday 4 March – {CLINIC}"]
    assert harness.at(start + timedelta(days=10)) == []
    for message in harness.sink.messages():
        check_email(message)
    skipped = [row for row in harness.rows("b-soon") if row["status"] == "skipped"]
    assert [row["result"] for row in skipped] == ["due time had already passed when planned"] * 2
    assert all(row["sent_at"] is None for row in skipped)


def test_dosing_booking_made_the_day_before_gets_the_checklist_in_its_confirmation(harness):
    start = harness.clock() + timedelta(hours=20)
    harness.book("b-late", start, category="dosing_esketamine")

    statuses = harness.statuses("b-late")
    assert statuses["0:preparation:48h-before"] == "skipped"
    assert statuses["0:reminder:24h-before"] == "skipped"
    (confirmation,) = harness.at(harness.clock())
    text = body(check_email(confirmation))
    assert "No food after" in text and "No drinks after" in text  # esketamine wording
    assert "at least 2 hours afterwards" in text  # on-site monitoring


def test_a_backlog_after_downtime_does_not_arrive_all_at_once(harness):
    """The dispatcher was down for days: only the newest due reminder goes out, nothing about the past."""
    harness.book("b-backlog", category="consultation", minutes=30)

    late = harness.at(START - timedelta(hours=20))
    assert sorted(m["Subject"] for m in late) == [  # sent over parallel SMTP sessions: any order
        f"Reminder: your appointment on {DAY} – {CLINIC}",
        f"Your appointment on {DAY} – {CLINIC}",
    ]
    statuses = harness.statuses("b-backlog")
    assert statuses["0:reminder:72h-before"] == "skipped"
    assert statuses["0:reminder:24h-before"] == "sent"

    assert harness.at(START + timedelta(minutes=5)) == [], "a reminder is never sent after the start"
    assert harness.statuses("b-backlog")["0:reminder:2h-before"] == "skipped"
    reasons = {row["dedupe_key"].split(":", 2)[2]: row["result"] for row in harness.rows("b-backlog")}
    assert reasons["reminder:72h-before"] == "not sent: a later reminder for the same appointment was already due"
    assert reasons["reminder:2h-before"] == "not sent: appointment had already started when the message could be sent"


def test_completed_session_keeps_its_follow_up_and_a_no_show_gets_none(harness):
    harness.book("b-done", category="dosing_iv")
    harness.book("b-noshow", category="dosing_iv", email="jordan@example.org")
    harness.at(START + timedelta(hours=3))
    before = len(harness.sink.messages())

    harness.deliver(EventType.BOOKING_COMPLETED, booking_data("b-done", sequence=1, status="fulfilled"))
    harness.deliver(
        EventType.BOOKING_NOSHOW, booking_data("b-noshow", sequence=1, status="noshow", email="jordan@example.org")
    )
    arrived = harness.at(END + timedelta(days=3))

    assert len(harness.sink.messages()) == before + 1
    (follow_up,) = arrived
    assert follow_up["Subject"] == f"After your appointment on {DAY} – {CLINIC}"
    assert follow_up["To"].addresses[0].addr_spec == "alex.morgan@example.org"
    assert harness.statuses("b-noshow")["0:follow_up:24h-after-end"] == "cancelled"
