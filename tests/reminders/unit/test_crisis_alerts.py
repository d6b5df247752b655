"""Crisis alerts under a flood: the first of a quiet period at once, a burst collapsed into one follow-up
per window listing every screening, none lost or held back longer than the window (fakes, no database)."""
from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.domain.compose import compose_crisis_alerts
from kapbook_reminders.domain.plan import CRISIS_ALERT_WINDOW, MessageKind, crisis_alert_due, crisis_screenings
from kapbook_reminders.domain.privacy import find_health_terms

sys.path.insert(0, str(Path(__file__).parent))

from test_compose import html_body, plain_body, round_trip, visible_text  # noqa: E402 - the folder is on the path
from test_use_cases import Reminders  # noqa: E402

ONCALL = "oncall@harbor.example"
WINDOW = CRISIS_ALERT_WINDOW
T0 = datetime(2027, 3, 4, 3, 17, tzinfo=UTC)


def review_url(screening_id: str) -> str:
    return f"https://book.harbor.example/staff/screenings/{screening_id}"


def test_the_first_alert_after_a_quiet_period_is_due_at_once_later_ones_at_the_end_of_the_window():
    assert crisis_alert_due(T0, None, WINDOW) == T0
    assert crisis_alert_due(T0, T0 - WINDOW, WINDOW) == T0, "a whole window of quiet"
    assert crisis_alert_due(T0, T0 - timedelta(seconds=30), WINDOW) == T0 - timedelta(seconds=30) + WINDOW
    assert crisis_alert_due(T0, T0, timedelta(0)) == T0, "a zero window: never a follow-up wait"


def test_an_alert_stored_before_alerts_were_collapsed_still_names_its_screening():
    assert crisis_screenings({"screening_id": "scr-1", "review_url": review_url("scr-1")}) == [
        {"screening_id": "scr-1", "review_url": review_url("scr-1")}]


class Flood:
    """Crisis events into the planner and a dispatcher polling between them, on a travelling clock."""

    def __init__(self, branding) -> None:
        self.reminders = Reminders.build(branding)
        self.reminders.clock.set(T0)
        self.handle = self.reminders.planner.on_crisis(ONCALL, WINDOW)
        self.submitted: dict[str, datetime] = {}

    def crisis(self) -> str:
        screening_id = str(uuid.uuid4())
        self.submitted[screening_id] = self.reminders.clock.now
        data = {"screening_id": screening_id, "review_url": review_url(screening_id),
                "decided_at": self.reminders.clock.now.isoformat()}
        self.handle(None, make_envelope(EventType.SCREENING_CRISIS, "/kapbook/eligibility", data))
        return screening_id

    def dispatch(self) -> None:
        self.reminders.dispatcher.dispatch_all_due()

    def sent(self) -> list[dict]:
        return [row for row in self.reminders.store.by_kind(MessageKind.CRISIS_ALERT) if row["status"] == "sent"]

    def listed(self) -> list[str]:
        return [entry["screening_id"] for row in self.sent() for entry in crisis_screenings(row["context"])]


@pytest.fixture
def flood(branding) -> Flood:
    return Flood(branding)


def test_a_single_crisis_after_a_quiet_period_is_emailed_at_once(flood):
    screening_id = flood.crisis()
    flood.dispatch()  # the same instant: nothing waits for a window
    (email,) = flood.reminders.sender.sent
    assert flood.listed() == [screening_id]
    assert flood.sent()[0]["sent_at"] == T0
    assert review_url(screening_id) in plain_body(email)


def test_a_burst_of_50_crises_yields_two_emails_listing_all_50(flood):
    for _ in range(50):
        flood.crisis()
        flood.dispatch()
        flood.reminders.clock.advance(seconds=1)
    assert len(flood.reminders.sender.sent) == 1, "the first went out at once, the rest are gathered"
    flood.reminders.clock.set(T0 + WINDOW)
    flood.dispatch()
    assert len(flood.reminders.sender.sent) == 2
    assert sorted(flood.listed()) == sorted(flood.submitted) and len(flood.listed()) == 50
    follow_up = flood.reminders.sender.sent[1]
    assert follow_up["Subject"] == "Urgent: 49 screenings need clinician review – Harbor Clinic"
    assert all(review_url(screening_id) in plain_body(follow_up) for screening_id in list(flood.submitted)[1:])


def test_a_sustained_flood_sends_one_alert_per_window_and_none_waits_longer_than_the_window(flood):
    end = T0 + timedelta(minutes=10)
    while flood.reminders.clock.now < end + WINDOW:
        if flood.reminders.clock.now < end and flood.reminders.clock.now.second % 10 == 0:
            flood.crisis()  # one every 10 s for 10 minutes
        flood.dispatch()  # the dispatcher polls every second
        flood.reminders.clock.advance(seconds=1)
    assert sorted(flood.listed()) == sorted(flood.submitted) and len(flood.submitted) == 60
    assert len(flood.sent()) <= 1 + 10 / (WINDOW.total_seconds() / 60) + 1
    for row in flood.sent():
        for entry in crisis_screenings(row["context"]):
            assert row["sent_at"] - flood.submitted[entry["screening_id"]] <= WINDOW


def test_after_a_quiet_window_the_next_crisis_goes_out_at_once_again(flood):
    flood.crisis()
    flood.dispatch()
    flood.reminders.clock.advance(seconds=WINDOW.total_seconds() + 1)
    second = flood.crisis()
    flood.dispatch()
    assert flood.listed()[-1] == second and flood.sent()[-1]["sent_at"] == flood.submitted[second]


def test_an_alert_being_sent_is_not_extended_the_next_crisis_gets_the_follow_up(flood):
    flood.crisis()
    (claimed,) = flood.reminders.store.claim_due(T0, token="t", lease_until=T0 + timedelta(minutes=2), limit=10)
    later = flood.crisis()
    follow_up = [row for row in flood.reminders.store.by_kind(MessageKind.CRISIS_ALERT) if row["status"] == "scheduled"]
    assert [entry["screening_id"] for entry in crisis_screenings(follow_up[0]["context"])] == [later]
    assert follow_up[0]["due_at"] == T0 + WINDOW
    assert crisis_screenings(claimed["context"]) != crisis_screenings(follow_up[0]["context"])


def test_a_redelivered_screening_is_listed_once(flood):
    flood.crisis()
    flood.dispatch()
    flood.reminders.clock.advance(seconds=5)
    screening_id = flood.crisis()
    data = {"screening_id": screening_id, "review_url": review_url(screening_id), "decided_at": T0.isoformat()}
    flood.handle(None, make_envelope(EventType.SCREENING_CRISIS, "/kapbook/eligibility", data))
    flood.reminders.clock.set(T0 + WINDOW)
    flood.dispatch()
    assert flood.listed().count(screening_id) == 1


def test_the_collapsed_alert_lists_links_only_and_no_health_words(branding):
    screenings = [{"screening_id": f"scr-{n}", "review_url": review_url(f"scr-{n}")} for n in range(3)]
    message = round_trip(compose_crisis_alerts(screenings, ONCALL, branding, T0))
    assert message["Subject"] == "Urgent: 3 screenings need clinician review – Harbor Clinic"
    assert message["Importance"] == "high"
    for body in (plain_body(message), visible_text(html_body(message))):
        assert all(screening["screening_id"] in body for screening in screenings)
        assert find_health_terms(body, allowed={"screening", "screenings"}) == []
        assert "contains no answers" in body
    assert all(f'href="{screening["review_url"]}"' in html_body(message) for screening in screenings)
    with pytest.raises(ValueError, match="review_url"):
        compose_crisis_alerts([{"screening_id": "x", "review_url": "javascript:alert(1)"}], ONCALL, branding, T0)
