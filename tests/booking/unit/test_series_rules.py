"""Treatment series in the domain: the protocol's rules (quoted per session) and the planner, across
DST changes in New York and Sydney. No database; fixed instants."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kapbook_booking.domain.availability import AppointmentRules, ClinicianSchedule, Room, TimeRange, WeeklyHours
from kapbook_booking.domain.series import (
    FreeTimes,
    Protocol,
    SeriesUnavailable,
    candidate_starts,
    place_requested,
    plan_series,
    rule_breaks,
    same_wall_clock_days,
)

NEW_YORK, SYDNEY = ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")
IV = Protocol(id="p1", code="iv-induction", name="IV induction", appointment_type="iv", sessions=6,
              min_gap=timedelta(hours=24), max_window_days=21, max_per_week=3)
RULES = AppointmentRules(duration=timedelta(minutes=50), buffer_after=timedelta(minutes=30), min_notice=timedelta(hours=2),
                         slot_step=timedelta(minutes=30), room_kind="chair")


def local(zone, *parts) -> datetime:
    return datetime(*parts, tzinfo=zone)


def daily(clinician_id: str, zone: ZoneInfo, busy=()) -> ClinicianSchedule:
    hours = tuple(WeeklyHours(day, time(8), time(18)) for day in range(7))
    return ClinicianSchedule(clinician_id, "loc", zone, hours, busy=tuple(busy))


def chairs(*busy_by_chair) -> list[Room]:
    return [Room(f"chair-{i + 1}", "loc", "chair", tuple(busy)) for i, busy in enumerate(busy_by_chair)]


def plan(zone, first, schedules, rooms, now, protocol=IV, clinician_id=None):
    free = FreeTimes.search(RULES, schedules, rooms, candidate_starts(protocol, first, [zone]), now)
    return plan_series(protocol, free, first, {"loc": zone}, clinician_id)


def infusion_at(start: datetime) -> TimeRange:
    return TimeRange(start, start + timedelta(minutes=80))


# --- the rules --------------------------------------------------------------------------------


def test_sessions_23_hours_59_apart_break_the_gap_and_24_hours_keep_it():
    first = local(NEW_YORK, 2027, 1, 4, 10)
    close = {1: first, 2: first + timedelta(hours=23, minutes=59)}
    assert rule_breaks(IV, close, NEW_YORK, check_count=False) == {
        2: ["Sessions of IV induction need at least 24 hours between them."]}
    assert rule_breaks(IV, {1: first, 2: first + timedelta(hours=24)}, NEW_YORK, check_count=False) == {}


def test_the_weekly_limit_counts_calendar_weeks_in_the_clinics_zone():
    # Sunday 22:00 in New York is Monday in UTC: it still belongs to the first week there.
    sunday_night = local(NEW_YORK, 2027, 1, 10, 22)
    starts = {1: local(NEW_YORK, 2027, 1, 5, 10), 2: local(NEW_YORK, 2027, 1, 7, 10), 3: local(NEW_YORK, 2027, 1, 9, 10),
              4: sunday_night}
    breaks = rule_breaks(IV, starts, NEW_YORK, check_count=False)
    assert set(breaks) == {1, 2, 3, 4}
    assert breaks[4] == ["IV induction allows at most 3 sessions per calendar week."]
    starts[4] = local(NEW_YORK, 2027, 1, 11, 0, 30)  # Monday of the next week
    assert rule_breaks(IV, starts, NEW_YORK, check_count=False) == {}


def test_the_window_and_the_count_are_quoted():
    first = local(SYDNEY, 2027, 2, 1, 9)
    starts = {i + 1: first + timedelta(days=3 * i) for i in range(5)} | {6: first + timedelta(days=21)}
    breaks = rule_breaks(IV, starts, SYDNEY)
    assert breaks == {6: ["All sessions of IV induction must start within 21 days of the first."]}
    breaks = rule_breaks(IV, {1: first, 2: first + timedelta(days=2)}, SYDNEY)
    assert breaks[1] == ["IV induction has 6 sessions. This plan has 2."]


def test_a_reschedule_check_anchors_the_window_on_the_series_first_session():
    first = local(NEW_YORK, 2027, 1, 4, 10)
    moved = {3: first + timedelta(days=22)}
    assert rule_breaks(IV, moved, NEW_YORK, check_count=False, first_start=first) == {
        3: ["All sessions of IV induction must start within 21 days of the first."]}


# --- the same wall-clock time across DST ---------------------------------------------------------


@pytest.mark.parametrize("zone, first", [
    (NEW_YORK, local(NEW_YORK, 2027, 3, 12, 10)),    # EST -> EDT on Sunday 14 March
    (NEW_YORK, local(NEW_YORK, 2026, 10, 29, 16)),   # EDT -> EST on Sunday 1 November
    (SYDNEY, local(SYDNEY, 2027, 4, 1, 10)),         # AEDT -> AEST on Sunday 4 April
    (SYDNEY, local(SYDNEY, 2026, 10, 1, 9, 30)),     # AEST -> AEDT on Sunday 4 October
])
def test_every_day_keeps_the_first_sessions_wall_clock_time(zone, first):
    days = same_wall_clock_days(first, zone, 10)
    assert {day.astimezone(zone).time() for day in days} == {first.time()}
    assert len({day.astimezone(zone).utcoffset() for day in days}) == 2, "the window crosses a change"


@pytest.mark.parametrize("zone, first", [
    (NEW_YORK, local(NEW_YORK, 2027, 3, 11, 10)),
    (SYDNEY, local(SYDNEY, 2027, 3, 31, 10)),
])
def test_a_plan_across_a_dst_change_keeps_the_wall_clock_time_the_clinician_and_the_chair(zone, first):
    now = first - timedelta(days=3)
    result = plan(zone, first, [daily("nurse-a", zone), daily("nurse-b", zone)], chairs((), ()), now)
    starts = [s.choice.start.astimezone(zone) for s in result.sessions]
    assert [s.time() for s in starts] == [first.time()] * 6
    assert len({s.utcoffset() for s in starts}) == 2
    assert {(s.choice.clinician_id, s.choice.room_id) for s in result.sessions} == {("nurse-a", "chair-1")}
    assert result.changes == 0


# --- the planner --------------------------------------------------------------------------------


def test_sessions_go_on_the_earliest_days_the_gap_and_the_weekly_limit_allow():
    first = local(NEW_YORK, 2027, 1, 4, 10)  # a Monday
    result = plan(NEW_YORK, first, [daily("nurse-a", NEW_YORK)], chairs(()), first - timedelta(days=2))
    assert [s.choice.start.astimezone(NEW_YORK).day for s in result.sessions] == [4, 5, 6, 11, 12, 13]


def test_a_taken_chair_changes_the_chair_that_day_not_the_day():
    first = local(NEW_YORK, 2027, 1, 4, 10)
    wednesday = local(NEW_YORK, 2027, 1, 6, 10)
    tuesday = local(NEW_YORK, 2027, 1, 5, 10)
    rooms = chairs([infusion_at(wednesday)], [infusion_at(tuesday)])
    result = plan(NEW_YORK, first, [daily("nurse-a", NEW_YORK)], rooms, first - timedelta(days=2))
    assert [s.choice.start.astimezone(NEW_YORK).day for s in result.sessions] == [4, 5, 6, 11, 12, 13]
    assert result.changes == 1
    assert [s.changes for s in result.sessions].count(("room",)) == 1


def test_a_busy_clinician_is_replaced_for_that_session_only():
    first = local(NEW_YORK, 2027, 1, 4, 10)
    busy_a = [infusion_at(local(NEW_YORK, 2027, 1, 12, 10))]
    busy_b = [infusion_at(local(NEW_YORK, 2027, 1, 13, 10))]  # so neither nurse can do all six
    result = plan(NEW_YORK, first, [daily("nurse-a", NEW_YORK, busy_a), daily("nurse-b", NEW_YORK, busy_b)], chairs(()),
                  first - timedelta(days=2), clinician_id=None)
    who = [s.choice.clinician_id for s in result.sessions]
    assert who == ["nurse-a"] * 4 + ["nurse-b", "nurse-a"]
    assert result.sessions[4].changes == ("clinician",)


def test_no_whole_plan_is_a_reason_for_each_session_that_does_not_fit():
    first = local(NEW_YORK, 2027, 1, 4, 10)
    taken = [infusion_at(first + timedelta(days=d)) for d in range(1, 21)]  # the chair is taken every later day
    with pytest.raises(SeriesUnavailable) as refused:
        plan(NEW_YORK, first, [daily("nurse-a", NEW_YORK)], chairs(taken), first - timedelta(days=2))
    assert refused.value.code == "series_unavailable"
    assert sorted(refused.value.errors["sessions"]) == ["2", "3", "4", "5", "6"]
    with pytest.raises(SeriesUnavailable) as closed:
        plan(NEW_YORK, first.replace(hour=20), [daily("nurse-a", NEW_YORK)], chairs(()), first - timedelta(days=2))
    assert list(closed.value.errors["sessions"]) == ["1"]


def test_requested_sessions_keep_the_first_sessions_chair_and_name_the_ones_taken():
    first = local(NEW_YORK, 2027, 1, 4, 10)
    starts = [first + timedelta(days=d) for d in (0, 1, 2)]
    rooms = chairs([], [infusion_at(starts[2])])
    free = FreeTimes.search(RULES, [daily("nurse-a", NEW_YORK, [infusion_at(starts[1])])], rooms, starts, first - timedelta(days=1))
    placed, missing = place_requested(free, [(s, None) for s in starts], NEW_YORK)
    assert [c.room_id for c in placed] == ["chair-1", "chair-1"]
    assert missing == {2: ["Session 2 (Tue 05 Jan 10:00) is no longer available."]}


def test_free_times_agree_with_the_engines_slot_search_at_every_start():
    """The planner asks only about its starts; its answers must be the engine's (grid, notice, busy, rooms)."""
    import random

    from kapbook_booking.domain.availability import find_slots

    rng = random.Random(12)
    first = local(NEW_YORK, 2027, 3, 8, 8)  # a window across the spring change
    now = first - timedelta(hours=1)
    busy_starts = [first + timedelta(days=rng.randrange(14), minutes=15 * rng.randrange(40)) for _ in range(120)]
    schedules = [daily(f"n{i}", NEW_YORK, [infusion_at(s) for s in busy_starts[i::4]]) for i in range(4)]
    rooms = chairs(*([infusion_at(s) for s in busy_starts[j::3][:10]] for j in range(2)))
    starts = [first + timedelta(days=d, minutes=15 * q) for d in range(14) for q in range(0, 44, 3)]
    free = FreeTimes.search(RULES, schedules, rooms, starts, now)
    mixed = 0
    for start in starts:
        engine = find_slots(RULES, schedules, rooms, now=now, window_start=start, window_end=start + timedelta(microseconds=1))
        ours = free.choices_at(start)
        mixed += 0 < len({s.clinician_id for s in engine}) < len(schedules)
        assert sorted({c.clinician_id for c in ours}) == sorted({s.clinician_id for s in engine}), start
        for slot in engine:
            assert min(c.room_id for c in ours if c.clinician_id == slot.clinician_id) == slot.room_id
    assert mixed > 20, "the clinic is busy enough that some clinicians are free and others not"
