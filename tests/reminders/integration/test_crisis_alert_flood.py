"""Crisis alerts through the real consumer, database and SMTP: a flood collapses, a lone crisis goes out
at once, and a pending follow-up survives a restart of the process (it is a row, not a timer)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from kapbook_platform.config import ConfigError
from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.config import RemindersConfig
from kapbook_reminders.domain.plan import CRISIS_ALERT_WINDOW
from reminders_harness import PUBLIC_URL, START, Harness

WINDOW = CRISIS_ALERT_WINDOW


def crisis(harness: Harness) -> str:
    """One crisis event from eligibility, handed to the consumer as the broker would."""
    screening_id = str(uuid.uuid4())
    data = {"screening_id": screening_id, "review_url": f"{PUBLIC_URL}/staff/screenings/{screening_id}",
            "decided_at": harness.clock.now.isoformat()}
    assert harness.deliver_envelope(make_envelope(EventType.SCREENING_CRISIS, "/kapbook/eligibility", data))
    return screening_id


def listed(emails) -> list[str]:
    """The screening ids the alert emails link to, in order."""
    found = []
    for email in emails:
        body = email.get_body(("plain",)).get_content()
        found += [line.rsplit("/", 1)[1] for line in body.splitlines() if "/staff/screenings/" in line]
    return found


def test_a_lone_crisis_is_emailed_at_the_moment_it_arrives(harness):
    screening_id = crisis(harness)
    emails = harness.at(harness.clock.now)  # no time passes
    assert listed(emails) == [screening_id]
    assert emails[0]["Subject"] == "Urgent: a screening needs clinician review – Harbor Clinic"


def test_a_flood_of_50_crises_yields_two_emails_listing_all_50_without_answers(harness):
    start = harness.clock.now
    ids, emails = [], []
    for _ in range(50):
        ids.append(crisis(harness))
        emails += harness.at(harness.clock.now + timedelta(seconds=1))
    emails += harness.at(start + WINDOW)
    assert len(emails) == 2, [email["Subject"] for email in emails]
    assert sorted(listed(emails)) == sorted(ids)
    for email in emails:
        body = email.get_body(("plain",)).get_content().lower()
        assert "cssrs" not in body and "score" not in body and "answer" not in body.replace("contains no answers", "")


def test_a_follow_up_pending_when_the_process_restarts_is_sent_by_the_next_one(harness, tmp_path, sink):
    start = harness.clock.now
    first = crisis(harness)
    assert listed(harness.at(start)) == [first]
    gathered = []
    for seconds in range(1, 11):
        harness.clock.set(start + timedelta(seconds=seconds))
        gathered.append(crisis(harness))
    harness.close()  # the process dies mid-window; nothing of the follow-up lives only in memory

    restarted = Harness.build(tmp_path, harness.container.config.database_url, start + timedelta(seconds=30), sink)
    try:
        assert restarted.at(start + WINDOW - timedelta(seconds=1)) == [], "not before the end of the window"
        emails = restarted.at(start + WINDOW)
        assert sorted(listed(emails)) == sorted(gathered)
        assert emails[0]["Subject"] == "Urgent: 10 screenings need clinician review – Harbor Clinic"
    finally:
        restarted.close()


def test_the_window_is_the_configured_one_and_zero_sends_each_alert_at_once(tmp_path, db, database_factory, sink):
    with pytest.raises(ConfigError, match="CRISIS_ALERT_WINDOW"):
        RemindersConfig.from_env({"KAPBOOK_ENV": "test", "CRISIS_ALERT_WINDOW": "-1"})
    harness = Harness.build(tmp_path / "zero", database_factory("reminders_zero"), START, sink, crisis_alert_window=0)
    try:
        first = crisis(harness)
        assert listed(harness.at(START)) == [first]
        second = crisis(harness)  # the same instant, right after the first alert went out: no follow-up wait
        assert listed(harness.at(START)) == [second]
    finally:
        harness.close()
