"""Daylight saving: slots must sit at the same local times on both sides of every transition.

Local times are read back with the standard library (UTC -> zone), independently of
how the engine converts wall clocks to UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kapbook_booking.domain.availability import (
    AppointmentRules,
    ClinicianSchedule,
    Slot,
    TimeRange,
    WeeklyHours,
    find_slots,
    local_to_utc,
    slot_at,
    working_intervals_on,
)

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")
LONG_AGO = datetime(2024, 1, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)

# (zone, local date of the transition); every one of these is a Sunday.
TRANSITIONS = [
    pytest.param(NEW_YORK, date(2025, 3, 9), id="new_york-spring"),
    pytest.param(NEW_YORK, date(2025, 11, 2), id="new_york-fall"),
    pytest.param(LOS_ANGELES, date(2025, 3, 9), id="los_angeles-spring"),
    pytest.param(LOS_ANGELES, date(2025, 11, 2), id="los_angeles-fall"),
    pytest.param(BERLIN, date(2025, 3, 30), id="berlin-spring"),
    pytest.param(BERLIN, date(2025, 10, 26), id="berlin-fall"),
    pytest.param(SYDNEY, date(2025, 10, 5), id="sydney-spring"),
    pytest.param(SYDNEY, date(2025, 4, 6), id="sydney-fall"),
]
MORNING = (time(8), time(12))
AFTERNOON = (time(13), time(21))


def every_day(zone: ZoneInfo, *hours: tuple[time, time], **extra: object) -> ClinicianSchedule:
    weekly = tuple(WeeklyHours(day, start, end) for day in range(7) for start, end in hours)
    return ClinicianSchedule("c1", "loc", zone, weekly, **extra)  # type: ignore[arg-type]


def back_to_back(duration_minutes: int = 60, **extra: object) -> AppointmentRules:
    """Appointments stepping by their own length, bookable from LONG_AGO on."""
    length = timedelta(minutes=duration_minutes)
    options = {"slot_step": length, "horizon": timedelta(days=5 * 365), **extra}
    return AppointmentRules(length, **options)  # type: ignore[arg-type]


def local_midnight(zone: ZoneInfo, day: date) -> datetime:
    return datetime.combine(day, time(0), zone)


def slots_for_local_days(
    schedule: ClinicianSchedule, rules: AppointmentRules, first: date, days: int, now: datetime = LONG_AGO
) -> list[Slot]:
    zone = schedule.zone
    start, end = local_midnight(zone, first), local_midnight(zone, first + timedelta(days=days))
    return find_slots(rules, [schedule], [], now=now, window_start=start, window_end=end)


def local_starts_by_day(slots: list[Slot], zone: ZoneInfo) -> dict[date, list[str]]:
    by_day: dict[date, list[str]] = {}
    for slot in slots:
        local = slot.start_utc.astimezone(zone)
        by_day.setdefault(local.date(), []).append(local.strftime("%H:%M"))
    return by_day


def hours_between(first: int, last: int) -> list[str]:
    return [f"{hour:02d}:00" for hour in range(first, last)]


@pytest.mark.parametrize(("zone", "transition"), TRANSITIONS)
@pytest.mark.parametrize("hours", [MORNING, AFTERNOON], ids=["08-12", "13-21"])
def test_same_local_starts_the_day_before_of_and_after_a_transition(
    zone: ZoneInfo, transition: date, hours: tuple[time, time]
) -> None:
    before = transition - timedelta(days=1)
    slots = slots_for_local_days(every_day(zone, hours), back_to_back(), before, 3)
    expected = hours_between(hours[0].hour, hours[1].hour)
    assert local_starts_by_day(slots, zone) == {before + timedelta(days=n): expected for n in range(3)}
    assert all(slot.end_utc - slot.start_utc == HOUR for slot in slots)


@pytest.mark.parametrize(
    ("zone", "day", "first_utc"),
    [
        (NEW_YORK, date(2025, 3, 8), datetime(2025, 3, 8, 13, tzinfo=timezone.utc)),  # EST
        (NEW_YORK, date(2025, 3, 9), datetime(2025, 3, 9, 12, tzinfo=timezone.utc)),  # EDT
        (NEW_YORK, date(2025, 11, 1), datetime(2025, 11, 1, 12, tzinfo=timezone.utc)),  # EDT
        (NEW_YORK, date(2025, 11, 2), datetime(2025, 11, 2, 13, tzinfo=timezone.utc)),  # EST
        (BERLIN, date(2025, 3, 29), datetime(2025, 3, 29, 7, tzinfo=timezone.utc)),  # CET
        (BERLIN, date(2025, 3, 30), datetime(2025, 3, 30, 6, tzinfo=timezone.utc)),  # CEST
        (BERLIN, date(2025, 10, 26), datetime(2025, 10, 26, 7, tzinfo=timezone.utc)),  # CET
        (SYDNEY, date(2025, 4, 5), datetime(2025, 4, 4, 21, tzinfo=timezone.utc)),  # AEDT
        (SYDNEY, date(2025, 4, 6), datetime(2025, 4, 5, 22, tzinfo=timezone.utc)),  # AEST
    ],
)
def test_first_morning_slot_is_at_the_exact_utc_instant(zone: ZoneInfo, day: date, first_utc: datetime) -> None:
    slots = slots_for_local_days(every_day(zone, MORNING), back_to_back(), day, 1)
    assert slots[0].start_utc == first_utc
    assert [s.start_utc for s in slots] == [first_utc + n * HOUR for n in range(4)]


def test_afternoon_schedule_across_the_utc_day_boundary_in_los_angeles() -> None:
    # 13:00-21:00 PDT is 20:00-04:00 UTC: the UTC date changes at 17:00 local.
    slots = slots_for_local_days(every_day(LOS_ANGELES, AFTERNOON), back_to_back(), date(2025, 3, 10), 1)
    utc = [s.start_utc for s in slots]
    assert utc[0] == datetime(2025, 3, 10, 20, tzinfo=timezone.utc)
    assert utc[-1] == datetime(2025, 3, 11, 3, tzinfo=timezone.utc)
    assert [s.start_utc.astimezone(LOS_ANGELES).hour for s in slots] == list(range(13, 21))


def test_a_patient_day_in_another_zone_sees_the_right_los_angeles_hours() -> None:
    # A patient in New York asks for Sunday 9 March 2025 (their day), the day LA springs forward.
    window_start = datetime(2025, 3, 9, tzinfo=NEW_YORK)
    window_end = datetime(2025, 3, 10, tzinfo=NEW_YORK)
    slots = find_slots(back_to_back(), [every_day(LOS_ANGELES, AFTERNOON)], [], now=LONG_AGO,
                       window_start=window_start, window_end=window_end)
    local = [(s.start_utc.astimezone(LOS_ANGELES).day, s.start_utc.astimezone(LOS_ANGELES).hour) for s in slots]
    # The NY day runs 21:00 PST on the 8th to 21:00 PDT on the 9th: all of LA's Sunday
    # afternoon, and none of Saturday's (its last start, 20:00 PST, is 23:00 EST on the 8th).
    assert local == [(9, hour) for hour in range(13, 21)]


# --- minimum notice that ends on the transition day -----------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "hours", "expected_first"),
    [
        # 24 h after Saturday 15:00 EST is Sunday 16:00 EDT, not 15:00: that day has 23 hours.
        (NEW_YORK, datetime(2025, 3, 8, 15, tzinfo=NEW_YORK), AFTERNOON, "16:00"),
        # 24 h after Saturday 09:30 EST is Sunday 10:30 EDT; the next hourly slot is 11:00.
        (NEW_YORK, datetime(2025, 3, 8, 9, 30, tzinfo=NEW_YORK), MORNING, "11:00"),
        # 24 h after Saturday 15:00 EDT is Sunday 14:00 EST: that day has 25 hours.
        (NEW_YORK, datetime(2025, 11, 1, 15, tzinfo=NEW_YORK), AFTERNOON, "14:00"),
        # 24 h after Saturday 10:00 CEST is Sunday 09:00 CET.
        (BERLIN, datetime(2025, 10, 25, 10, tzinfo=BERLIN), MORNING, "09:00"),
        # 24 h after Saturday 10:00 CET is Sunday 11:00 CEST.
        (BERLIN, datetime(2025, 3, 29, 10, tzinfo=BERLIN), MORNING, "11:00"),
        # 24 h after Saturday 14:00 PST is Sunday 15:00 PDT.
        (LOS_ANGELES, datetime(2025, 3, 8, 14, tzinfo=LOS_ANGELES), AFTERNOON, "15:00"),
        # Southern hemisphere: 24 h after Saturday 09:00 AEDT is Sunday 08:00 AEST.
        (SYDNEY, datetime(2025, 4, 5, 9, tzinfo=SYDNEY), MORNING, "08:00"),
    ],
)
def test_minimum_notice_ending_on_the_transition_day_counts_elapsed_hours(
    zone: ZoneInfo, now: datetime, hours: tuple[time, time], expected_first: str
) -> None:
    saturday = now.date()
    rules = back_to_back(min_notice=timedelta(hours=24))
    slots = slots_for_local_days(every_day(zone, hours), rules, saturday, 3, now=now)
    by_day = local_starts_by_day(slots, zone)
    sunday = saturday + timedelta(days=1)
    assert saturday not in by_day
    assert by_day[sunday][0] == expected_first
    assert by_day[sunday] == hours_between(int(expected_first[:2]), hours[1].hour)
    assert by_day[sunday + timedelta(days=1)] == hours_between(hours[0].hour, hours[1].hour)


# --- non-existent and repeated local times ----------------------------------------------------------


def test_no_slot_at_a_local_time_that_does_not_exist() -> None:
    schedule = every_day(NEW_YORK, (time(1), time(4)))
    slots = slots_for_local_days(schedule, back_to_back(30), date(2025, 3, 9), 1)
    assert local_starts_by_day(slots, NEW_YORK) == {date(2025, 3, 9): ["01:00", "01:30", "03:00", "03:30"]}
    assert slots[-1].end_utc == datetime(2025, 3, 9, 8, tzinfo=timezone.utc)  # 04:00 EDT


@pytest.mark.parametrize(
    ("zone", "day", "hours", "expected"),
    [
        # 02:00 and 02:30 do not exist in New York that night: work begins at 03:00 EDT.
        (NEW_YORK, date(2025, 3, 9), (time(2), time(5)), ["03:00", "04:00"]),
        (NEW_YORK, date(2025, 3, 9), (time(2, 30), time(5)), ["03:00", "04:00"]),
        (BERLIN, date(2025, 3, 30), (time(2, 30), time(5)), ["03:00", "04:00"]),
        (SYDNEY, date(2025, 10, 5), (time(2, 15), time(5)), ["03:00", "04:00"]),
        # An end inside the gap ends work when the gap starts (02:00 EST = 03:00 EDT).
        (NEW_YORK, date(2025, 3, 9), (time(0), time(2, 30)), ["00:00", "01:00"]),
        # Hours entirely inside the gap vanish.
        (NEW_YORK, date(2025, 3, 9), (time(2), time(2, 45)), []),
    ],
)
def test_working_hours_that_start_or_end_in_a_gap(
    zone: ZoneInfo, day: date, hours: tuple[time, time], expected: list[str]
) -> None:
    slots = slots_for_local_days(every_day(zone, hours), back_to_back(), day, 1)
    assert local_starts_by_day(slots, zone).get(day, []) == expected


def test_gap_start_resolves_to_the_transition_instant() -> None:
    transition = datetime(2025, 3, 9, 7, tzinfo=timezone.utc)  # 02:00 EST == 03:00 EDT
    for wall in (time(2), time(2, 1), time(2, 30), time(2, 59, 59, 999999)):
        assert local_to_utc(NEW_YORK, date(2025, 3, 9), wall) == transition
        assert local_to_utc(NEW_YORK, date(2025, 3, 9), wall, ends_interval=True) == transition


def test_lord_howe_half_hour_gap_resolves_to_its_transition() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # 02:00 +10:30 -> 02:30 +11:00
    transition = datetime(2025, 10, 4, 15, 30, tzinfo=timezone.utc)
    assert local_to_utc(lord_howe, date(2025, 10, 5), time(2, 10)) == transition


def test_repeated_hour_on_fall_back_is_real_working_time() -> None:
    schedule = every_day(NEW_YORK, (time(0), time(4)))
    slots = slots_for_local_days(schedule, back_to_back(), date(2025, 11, 2), 1)
    local = [s.start_utc.astimezone(NEW_YORK) for s in slots]
    assert [(t.strftime("%H:%M"), t.tzname()) for t in local] == [
        ("00:00", "EDT"), ("01:00", "EDT"), ("01:00", "EST"), ("02:00", "EST"), ("03:00", "EST"),
    ]


def test_hours_starting_or_ending_in_the_repeated_hour() -> None:
    day = date(2025, 11, 2)
    starts_inside = working_intervals_on(every_day(NEW_YORK, (time(1, 30), time(3))), day)
    ends_inside = working_intervals_on(every_day(NEW_YORK, (time(0), time(1, 30))), day)
    assert starts_inside == [TimeRange(utc_on_nov_2(5, 30), utc_on_nov_2(8))]  # 01:30 EDT - 03:00 EST
    assert ends_inside == [TimeRange(utc_on_nov_2(4), utc_on_nov_2(6, 30))]  # 00:00 EDT - 01:30 EST


def test_hours_ending_as_the_repeated_hour_begins_stop_at_its_first_pass() -> None:
    # After 01:00 EDT the New York clock never reads earlier than 01:00 again.
    day = date(2025, 11, 2)
    assert working_intervals_on(every_day(NEW_YORK, (time(0), time(1))), day) == [
        TimeRange(utc_on_nov_2(4), utc_on_nov_2(5))
    ]
    berlin = working_intervals_on(every_day(BERLIN, (time(0), time(2))), date(2025, 10, 26))
    assert berlin == [TimeRange(datetime(2025, 10, 25, 22, tzinfo=timezone.utc), datetime(2025, 10, 26, tzinfo=timezone.utc))]


def utc_on_nov_2(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 11, 2, hour, minute, tzinfo=timezone.utc)


def test_slot_step_counts_elapsed_time_through_the_repeated_hour() -> None:
    schedule = every_day(BERLIN, (time(1), time(5)))
    rules = back_to_back(45, slot_step=timedelta(minutes=90))
    slots = slots_for_local_days(schedule, rules, date(2025, 10, 26), 1)
    local = [(t.strftime("%H:%M"), t.tzname()) for t in (s.start_utc.astimezone(BERLIN) for s in slots)]
    # 5 h elapsed from 01:00 CEST; a wall-clock grid would have said 01:00, 02:30, 04:00.
    assert local == [("01:00", "CEST"), ("02:30", "CEST"), ("03:00", "CET")]


def test_an_appointment_across_the_transition_lasts_its_elapsed_duration() -> None:
    slots = slots_for_local_days(every_day(NEW_YORK, (time(1), time(4))), back_to_back(120), date(2025, 3, 9), 1)
    first = slots[0]
    assert first.end_utc - first.start_utc == timedelta(hours=2)
    assert first.end_utc.astimezone(NEW_YORK).strftime("%H:%M") == "04:00"  # 01:00 EST + 2 h elapsed


def test_busy_time_around_a_transition_blocks_by_instant() -> None:
    busy = (TimeRange(datetime(2025, 3, 9, 17, tzinfo=timezone.utc), datetime(2025, 3, 9, 18, tzinfo=timezone.utc)),)
    schedule = every_day(NEW_YORK, AFTERNOON, busy=busy)  # 13:00-14:00 EDT that Sunday
    slots = slots_for_local_days(schedule, back_to_back(), date(2025, 3, 9), 1)
    assert local_starts_by_day(slots, NEW_YORK)[date(2025, 3, 9)] == hours_between(14, 21)


def test_slot_at_accepts_the_post_transition_start_and_refuses_the_old_offset() -> None:
    schedule = every_day(NEW_YORK, AFTERNOON)
    right = datetime(2025, 3, 9, 13, tzinfo=NEW_YORK)  # 17:00 UTC
    off_by_an_hour = datetime(2025, 3, 9, 18, tzinfo=timezone.utc) + timedelta(minutes=30)
    assert slot_at(back_to_back(), schedule, [], now=LONG_AGO, start=right) is not None
    assert slot_at(back_to_back(), schedule, [], now=LONG_AGO, start=off_by_an_hour) is None
    twelve_edt = datetime(2025, 3, 9, 16, tzinfo=timezone.utc)  # before the 13:00 opening
    assert slot_at(back_to_back(), schedule, [], now=LONG_AGO, start=twelve_edt) is None


def test_busy_given_in_local_time_is_widened_by_elapsed_not_wall_time() -> None:
    # 03:00-03:30 EDT right after the jump; a 60-min slot may end exactly at 03:00 EDT,
    # i.e. start at 01:00 EST. Wall-clock arithmetic (03:00 - 1 h = "02:00") gets this wrong.
    busy = (TimeRange(datetime(2025, 3, 9, 3, tzinfo=NEW_YORK), datetime(2025, 3, 9, 3, 30, tzinfo=NEW_YORK)),)
    schedule = every_day(NEW_YORK, (time(0), time(4)), busy=busy)
    slots = slots_for_local_days(schedule, back_to_back(), date(2025, 3, 9), 1)
    assert local_starts_by_day(slots, NEW_YORK) == {date(2025, 3, 9): ["00:00", "01:00"]}


def test_now_given_in_local_time_adds_notice_in_elapsed_hours() -> None:
    now = datetime(2025, 3, 8, 15, tzinfo=NEW_YORK)
    rules = back_to_back(min_notice=timedelta(hours=24))
    schedule = every_day(NEW_YORK, AFTERNOON)
    assert slot_at(rules, schedule, [], now=now, start=datetime(2025, 3, 9, 15, tzinfo=NEW_YORK)) is None
    assert slot_at(rules, schedule, [], now=now, start=datetime(2025, 3, 9, 16, tzinfo=NEW_YORK)) is not None


def test_a_london_day_includes_the_los_angeles_evening_before() -> None:
    # London's 10 March (00:00-24:00 GMT) is 17:00 PDT on the 9th to 17:00 PDT on the 10th.
    london = ZoneInfo("Europe/London")
    slots = find_slots(back_to_back(), [every_day(LOS_ANGELES, AFTERNOON)], [], now=LONG_AGO,
                       window_start=datetime(2025, 3, 10, tzinfo=london),
                       window_end=datetime(2025, 3, 11, tzinfo=london))
    local = [s.start_utc.astimezone(LOS_ANGELES) for s in slots]
    assert [(t.day, t.hour) for t in local] == [(9, h) for h in range(17, 21)] + [(10, h) for h in range(13, 17)]


def test_working_intervals_drop_hours_that_fall_entirely_in_the_gap() -> None:
    schedule = every_day(NEW_YORK, (time(2), time(2, 45)), (time(9), time(10)))
    utc = timezone.utc
    assert working_intervals_on(schedule, date(2025, 3, 9)) == [
        TimeRange(datetime(2025, 3, 9, 13, tzinfo=utc), datetime(2025, 3, 9, 14, tzinfo=utc))
    ]
