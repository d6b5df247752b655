"""Planning: which messages a booking gets, when, and what is skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapbook_reminders.domain.plan import (
    APPOINTMENT_STARTED,
    DUE_TIME_PASSED,
    MessageKind,
    PlanStatus,
    crisis_alert_dedupe_key,
    is_still_relevant,
    plan_after_visit,
    plan_for_cancellation,
    plan_for_reschedule,
    plan_messages,
)
from kapbook_reminders.domain.plan_config import load_notification_plans

BOOKING_ID = "0d9e3b52-0d55-4a53-8a8f-2f4e8b6f1c01"
START = datetime(2027, 3, 9, 15, 30, tzinfo=UTC)
PLANS = load_notification_plans()
DOSING_PLAN = PLANS.resolve("dosing_iv")
CONSULTATION_PLAN = PLANS.resolve("consultation")
FAR_AHEAD = START - timedelta(days=30)


@pytest.fixture(scope="module")
def snapshot(make_snapshot):
    """A two-hour IV dosing session starting at START, with changes."""

    def build(**changes):
        defaults = {"booking_id": BOOKING_ID, "start": START, "end": START + timedelta(hours=2)}
        return make_snapshot(**{**defaults, **changes})

    return build


def summary(messages):
    return [(m.kind.value, m.due_at, m.status.value) for m in messages]


def test_dosing_booking_far_ahead_gets_every_message_at_its_exact_time(snapshot):
    messages = plan_messages(snapshot(), DOSING_PLAN, FAR_AHEAD)

    assert summary(messages) == [
        ("confirmation", FAR_AHEAD, "scheduled"),
        ("reminder", START - timedelta(hours=72), "scheduled"),
        ("preparation", START - timedelta(hours=48), "scheduled"),
        ("reminder", START - timedelta(hours=24), "scheduled"),
        ("check_in_before_dose", START - timedelta(hours=24), "scheduled"),
        ("reminder", START - timedelta(hours=2), "scheduled"),
        ("follow_up", START + timedelta(hours=2) + timedelta(hours=24), "scheduled"),
    ]
    assert [m.dedupe_key for m in messages] == [
        f"{BOOKING_ID}:0:confirmation:at-booking",
        f"{BOOKING_ID}:0:reminder:72h-before",
        f"{BOOKING_ID}:0:preparation:48h-before",
        f"{BOOKING_ID}:0:reminder:24h-before",
        f"{BOOKING_ID}:0:check_in_before_dose:24h-before",
        f"{BOOKING_ID}:0:reminder:2h-before",
        f"{BOOKING_ID}:0:follow_up:24h-after-end",
    ]


def test_only_the_follow_up_and_the_check_in_are_non_essential(snapshot):
    messages = plan_messages(snapshot(), DOSING_PLAN, FAR_AHEAD)

    assert {m.kind.value: m.essential for m in messages} == {
        "confirmation": True,
        "reminder": True,
        "preparation": True,
        "follow_up": False,
        "check_in_before_dose": False,
    }


def test_consultation_gets_no_preparation_or_follow_up(snapshot):
    booking = snapshot(category="consultation", appointment_type_code="CONSULT")

    kinds = [m.kind for m in plan_messages(booking, CONSULTATION_PLAN, FAR_AHEAD)]

    assert kinds == [MessageKind.CONFIRMATION] + [MessageKind.REMINDER] * 3


def test_booking_three_hours_ahead_gets_confirmation_and_two_hour_reminder_only(snapshot):
    now = START - timedelta(hours=3)
    booking = snapshot(category="consultation")

    messages = plan_messages(booking, CONSULTATION_PLAN, now)

    scheduled = [(m.kind.value, m.due_at) for m in messages if m.status is PlanStatus.SCHEDULED]
    skipped = {m.dedupe_key.rsplit(":", 1)[1]: m.skip_reason for m in messages if m.status is PlanStatus.SKIPPED}
    assert scheduled == [("confirmation", now), ("reminder", START - timedelta(hours=2))]
    assert skipped == {"72h-before": DUE_TIME_PASSED, "24h-before": DUE_TIME_PASSED}


def test_dosing_booking_three_hours_ahead_skips_the_preparation_message_but_keeps_the_follow_up(snapshot):
    messages = plan_messages(snapshot(), DOSING_PLAN, START - timedelta(hours=3))

    status = {m.dedupe_key.split(":", 2)[2]: m.status.value for m in messages}
    assert status == {
        "confirmation:at-booking": "scheduled",
        "reminder:72h-before": "skipped",
        "preparation:48h-before": "skipped",
        "reminder:24h-before": "skipped",
        "reminder:2h-before": "scheduled",
        "follow_up:24h-after-end": "scheduled",
        "check_in_before_dose:24h-before": "skipped",
    }


def test_booking_one_hour_ahead_gets_the_confirmation_only(snapshot):
    now = START - timedelta(hours=1)

    messages = plan_messages(snapshot(category="consultation"), CONSULTATION_PLAN, now)

    assert [(m.kind, m.due_at) for m in messages if m.status is PlanStatus.SCHEDULED] == [
        (MessageKind.CONFIRMATION, now)
    ]
    assert len([m for m in messages if m.status is PlanStatus.SKIPPED]) == 3


def test_reminder_due_exactly_now_is_skipped_not_sent_at_once(snapshot):
    now = START - timedelta(hours=2)

    messages = plan_messages(snapshot(category="consultation"), CONSULTATION_PLAN, now)

    two_hour = next(m for m in messages if m.dedupe_key.endswith("reminder:2h-before"))
    assert two_hour.status is PlanStatus.SKIPPED


def test_booking_entered_after_it_started_gets_no_confirmation(snapshot):
    messages = plan_messages(snapshot(category="consultation"), CONSULTATION_PLAN, START + timedelta(minutes=5))

    confirmation = next(m for m in messages if m.kind is MessageKind.CONFIRMATION)
    assert (confirmation.status, confirmation.skip_reason) == (PlanStatus.SKIPPED, APPOINTMENT_STARTED)
    assert all(m.status is PlanStatus.SKIPPED for m in messages)


def test_planning_twice_gives_identical_keys_even_at_a_later_moment(snapshot):
    first = plan_messages(snapshot(), DOSING_PLAN, FAR_AHEAD)
    again = plan_messages(snapshot(), DOSING_PLAN, FAR_AHEAD + timedelta(minutes=7))

    assert [m.dedupe_key for m in first] == [m.dedupe_key for m in again]
    assert len({m.dedupe_key for m in first}) == len(first)


def test_keys_differ_between_sequences_of_the_same_booking(snapshot):
    first = {m.dedupe_key for m in plan_messages(snapshot(sequence=1), DOSING_PLAN, FAR_AHEAD)}
    second = {m.dedupe_key for m in plan_messages(snapshot(sequence=2), DOSING_PLAN, FAR_AHEAD)}

    assert first.isdisjoint(second)


def test_reschedule_sends_a_notice_now_and_fresh_reminders_for_the_new_time(snapshot):
    new_start = START + timedelta(days=7)
    moved = snapshot(sequence=3, start=new_start, end=new_start + timedelta(hours=2))
    now = START - timedelta(days=1)

    messages = plan_for_reschedule(moved, DOSING_PLAN, now)

    assert summary(messages) == [
        ("reschedule_notice", now, "scheduled"),
        ("reminder", new_start - timedelta(hours=72), "scheduled"),
        ("preparation", new_start - timedelta(hours=48), "scheduled"),
        ("reminder", new_start - timedelta(hours=24), "scheduled"),
        ("check_in_before_dose", new_start - timedelta(hours=24), "scheduled"),
        ("reminder", new_start - timedelta(hours=2), "scheduled"),
        ("follow_up", new_start + timedelta(hours=26), "scheduled"),
    ]
    assert all(m.dedupe_key.startswith(f"{BOOKING_ID}:3:") for m in messages)
    original_keys = {m.dedupe_key for m in plan_messages(snapshot(), DOSING_PLAN, FAR_AHEAD)}
    assert original_keys.isdisjoint(m.dedupe_key for m in messages)


def test_reschedule_to_a_time_soon_skips_reminders_already_past(snapshot):
    soon = FAR_AHEAD + timedelta(hours=5)
    moved = snapshot(sequence=1, start=soon, end=soon + timedelta(hours=1))

    messages = plan_for_reschedule(moved, DOSING_PLAN, FAR_AHEAD)

    scheduled = [m.kind.value for m in messages if m.status is PlanStatus.SCHEDULED]
    assert scheduled == ["reschedule_notice", "reminder", "follow_up"]


def test_cancellation_plans_only_the_cancellation_notice(snapshot):
    cancelled = snapshot(status="cancelled", sequence=4)
    now = START - timedelta(days=2)

    messages = plan_for_cancellation(cancelled, now)

    assert summary(messages) == [("cancellation_notice", now, "scheduled")]
    assert messages[0].dedupe_key == f"{BOOKING_ID}:4:cancellation_notice:at-cancel"
    assert messages[0].essential


def test_each_planner_refuses_a_booking_in_the_wrong_status(snapshot):
    with pytest.raises(ValueError, match="cancelled"):
        plan_messages(snapshot(status="cancelled"), DOSING_PLAN, FAR_AHEAD)
    with pytest.raises(ValueError, match="booked"):
        plan_for_cancellation(snapshot(), FAR_AHEAD)
    with pytest.raises(ValueError, match="fulfilled"):
        plan_after_visit(snapshot(), DOSING_PLAN, FAR_AHEAD)


def test_no_show_gets_nothing_more(snapshot):
    assert plan_after_visit(snapshot(status="noshow", sequence=2), DOSING_PLAN, START + timedelta(hours=3)) == []


def test_fulfilled_dosing_keeps_its_follow_up_at_the_original_time(snapshot):
    end = START + timedelta(hours=2)

    messages = plan_after_visit(snapshot(status="fulfilled", sequence=2), DOSING_PLAN, end + timedelta(hours=1))

    assert summary(messages) == [("follow_up", end + timedelta(hours=24), "scheduled")]
    assert not messages[0].essential


def test_fulfilled_dosing_marked_too_late_records_the_follow_up_as_skipped(snapshot):
    end = START + timedelta(hours=2)

    messages = plan_after_visit(snapshot(status="fulfilled"), DOSING_PLAN, end + timedelta(days=3))

    assert [(m.status, m.skip_reason) for m in messages] == [(PlanStatus.SKIPPED, DUE_TIME_PASSED)]


def test_fulfilled_consultation_gets_nothing_more(snapshot):
    fulfilled = snapshot(status="fulfilled", category="consultation")

    assert plan_after_visit(fulfilled, CONSULTATION_PLAN, START + timedelta(hours=3)) == []


def test_reminder_before_a_start_just_after_spring_forward_is_24_elapsed_hours_earlier(snapshot):
    new_york = ZoneInfo("America/New_York")
    # Clocks jump from 02:00 to 03:00 on Sunday 14 March 2027.
    start = datetime(2027, 3, 14, 10, 0, tzinfo=new_york)
    booking = snapshot(start=start, end=start + timedelta(hours=1), category="consultation")

    messages = plan_messages(booking, CONSULTATION_PLAN, FAR_AHEAD)

    day_before = next(m for m in messages if m.dedupe_key.endswith("24h-before"))
    assert booking.start - day_before.due_at == timedelta(hours=24)
    assert day_before.due_at == datetime(2027, 3, 13, 14, 0, tzinfo=UTC)
    assert day_before.due_at.astimezone(new_york).hour == 9


def test_reminder_before_a_start_just_after_fall_back_is_24_elapsed_hours_earlier(snapshot):
    new_york = ZoneInfo("America/New_York")
    # Clocks go back from 02:00 to 01:00 on Sunday 7 November 2027.
    start = datetime(2027, 11, 7, 10, 0, tzinfo=new_york)
    booking = snapshot(start=start, end=start + timedelta(hours=1), category="consultation")

    messages = plan_messages(booking, CONSULTATION_PLAN, FAR_AHEAD)

    day_before = next(m for m in messages if m.dedupe_key.endswith("24h-before"))
    assert booking.start - day_before.due_at == timedelta(hours=24)
    assert day_before.due_at.astimezone(new_york).hour == 11


def test_naive_now_is_refused(snapshot):
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_messages(snapshot(), DOSING_PLAN, datetime(2027, 1, 1))


@pytest.mark.parametrize(
    ("kind", "status", "relevant"),
    [
        ("reminder", "booked", True),
        ("reminder", "cancelled", False),
        ("preparation", "noshow", False),
        ("confirmation", "fulfilled", False),
        ("cancellation_notice", "cancelled", True),
        ("cancellation_notice", "booked", False),
        ("follow_up", "booked", True),
        ("follow_up", "fulfilled", True),
        ("follow_up", "noshow", False),
        ("follow_up", "cancelled", False),
        ("crisis_alert", "booked", False),
    ],
)
def test_whether_a_message_is_still_relevant_at_send_time(kind, status, relevant):
    assert is_still_relevant(kind, status) is relevant


def test_crisis_alert_key_is_one_per_screening():
    assert crisis_alert_dedupe_key("s-1") == crisis_alert_dedupe_key("s-1") != crisis_alert_dedupe_key("s-2")


@given(
    lead=st.timedeltas(min_value=timedelta(minutes=-90), max_value=timedelta(days=10)),
    duration=st.timedeltas(min_value=timedelta(minutes=15), max_value=timedelta(hours=4)),
)
def test_nothing_scheduled_is_ever_due_before_now_and_keys_never_repeat(lead, duration, snapshot):
    now = START - lead
    booking = snapshot(end=START + duration)

    messages = plan_messages(booking, DOSING_PLAN, now)

    assert all(m.due_at >= now for m in messages if m.status is PlanStatus.SCHEDULED)
    assert all(m.due_at > now for m in messages if m.status is PlanStatus.SCHEDULED and m.kind is not MessageKind.CONFIRMATION)
    assert all(m.skip_reason for m in messages if m.status is PlanStatus.SKIPPED)
    assert len({m.dedupe_key for m in messages}) == len(messages)
