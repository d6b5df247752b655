"""Unit tests of the availability engine's booking rules (no DST here; see test_availability_dst)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kapbook_booking.domain.availability import (
    AppointmentRules,
    ClinicianSchedule,
    Room,
    Slot,
    TimeRange,
    WeeklyHours,
    find_slots,
    slot_at,
    working_intervals_between,
    working_intervals_on,
)

ZONE = ZoneInfo("Europe/London")  # winter dates below, so local time == UTC
MONDAY = date(2025, 1, 6)
TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY = (MONDAY + timedelta(days=n) for n in range(1, 6))
LONG_AGO = datetime(2024, 12, 1, tzinfo=timezone.utc)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), timezone.utc)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def weekdays(*hours: tuple[time, time], days: range = range(5)) -> tuple[WeeklyHours, ...]:
    return tuple(WeeklyHours(day, start, end) for day in days for start, end in hours)


def clinician(
    clinician_id: str = "c1",
    hours: tuple[WeeklyHours, ...] = weekdays((time(9), time(12))),
    **extra: object,
) -> ClinicianSchedule:
    return ClinicianSchedule(clinician_id, "loc-1", ZONE, hours, **extra)  # type: ignore[arg-type]


def rules(duration: int = 60, step: int = 30, **extra: object) -> AppointmentRules:
    return AppointmentRules(minutes(duration), slot_step=minutes(step), **extra)  # type: ignore[arg-type]


def slots_on(
    day: date,
    appointment: AppointmentRules,
    clinicians: list[ClinicianSchedule],
    rooms: list[Room] | None = None,
    now: datetime = LONG_AGO,
    days: int = 1,
) -> list[Slot]:
    start = at(day, 0)
    end = start + timedelta(days=days)
    return find_slots(appointment, clinicians, rooms or [], now=now, window_start=start, window_end=end)


def within(appointment: AppointmentRules, window_start: datetime, window_end: datetime) -> list[Slot]:
    return find_slots(appointment, [clinician()], [], now=LONG_AGO, window_start=window_start, window_end=window_end)


def hhmm(slots: list[Slot]) -> list[str]:
    return [slot.start_utc.astimezone(ZONE).strftime("%H:%M") for slot in slots]


# --- working hours --------------------------------------------------------------


def test_slots_step_through_working_hours_and_the_last_ends_at_closing() -> None:
    slots = slots_on(MONDAY, rules(60, 30), [clinician()])
    assert hhmm(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert slots[-1].end_utc == at(MONDAY, 12)
    assert all(slot.end_utc - slot.start_utc == minutes(60) for slot in slots)


def test_slot_fields_name_clinician_and_location_without_room() -> None:
    first = slots_on(MONDAY, rules(), [clinician()])[0]
    assert first == Slot(at(MONDAY, 9), at(MONDAY, 10), "c1", "loc-1", None)


def test_two_intervals_a_day_keep_lunch_free() -> None:
    hours = weekdays((time(9), time(12, 30)), (time(13, 30), time(15)))
    starts = hhmm(slots_on(MONDAY, rules(60, 30), [clinician(hours=hours)]))
    assert starts == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00"]


def test_no_slots_on_days_without_hours() -> None:
    assert slots_on(SATURDAY, rules(), [clinician()]) == []


def test_a_window_over_a_week_covers_each_working_day() -> None:
    slots = slots_on(MONDAY, rules(60, 60), [clinician()], days=7)
    days = sorted({slot.start_utc.date() for slot in slots})
    assert days == [MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY]
    assert len(slots) == 5 * 3


def test_alignment_counts_from_the_start_of_the_working_interval() -> None:
    hours = weekdays((time(9, 10), time(11)))
    assert hhmm(slots_on(MONDAY, rules(30, 30), [clinician(hours=hours)])) == ["09:10", "09:40", "10:10"]


def test_step_longer_than_duration_leaves_gaps() -> None:
    assert hhmm(slots_on(MONDAY, rules(20, 45), [clinician()])) == ["09:00", "09:45", "10:30", "11:15"]


def test_interval_shorter_than_the_appointment_offers_nothing() -> None:
    hours = weekdays((time(9), time(9, 45)))
    assert slots_on(MONDAY, rules(60, 15), [clinician(hours=hours)]) == []


def test_overlapping_weekly_intervals_merge_without_duplicate_starts() -> None:
    hours = weekdays((time(9), time(11)), (time(10), time(12)))
    assert hhmm(slots_on(MONDAY, rules(60, 60), [clinician(hours=hours)])) == ["09:00", "10:00", "11:00"]


def test_touching_weekly_intervals_form_one_working_stretch() -> None:
    hours = weekdays((time(9), time(10)), (time(10), time(11)))
    assert hhmm(slots_on(MONDAY, rules(60, 30), [clinician(hours=hours)])) == ["09:00", "09:30", "10:00"]


# --- effective dates and overrides -----------------------------------------------


def test_effective_dates_are_inclusive_at_both_ends() -> None:
    hours = tuple(
        WeeklyHours(day, time(9), time(10), effective_from=TUESDAY, effective_until=THURSDAY)
        for day in range(7)
    )
    slots = slots_on(MONDAY, rules(60, 60), [clinician(hours=hours)], days=7)
    assert [slot.start_utc.date() for slot in slots] == [TUESDAY, WEDNESDAY, THURSDAY]


def test_a_new_schedule_takes_over_the_day_after_the_old_one_ends() -> None:
    old = tuple(WeeklyHours(day, time(9), time(10), effective_until=TUESDAY) for day in range(5))
    new = tuple(WeeklyHours(day, time(14), time(15), effective_from=WEDNESDAY) for day in range(5))
    slots = slots_on(MONDAY, rules(60, 60), [clinician(hours=old + new)], days=5)
    assert [(s.start_utc.date(), s.start_utc.hour) for s in slots] == [
        (MONDAY, 9), (TUESDAY, 9), (WEDNESDAY, 14), (THURSDAY, 14), (FRIDAY, 14),
    ]


def test_override_replaces_the_weekly_hours_of_that_day_only() -> None:
    overrides = {MONDAY: ((time(15), time(16, 30)),)}
    slots = slots_on(MONDAY, rules(60, 30), [clinician(date_overrides=overrides)], days=2)
    assert [(s.start_utc.date(), hhmm([s])[0]) for s in slots] == [
        (MONDAY, "15:00"), (MONDAY, "15:30"),
        (TUESDAY, "09:00"), (TUESDAY, "09:30"), (TUESDAY, "10:00"), (TUESDAY, "10:30"), (TUESDAY, "11:00"),
    ]


def test_override_adds_hours_on_a_day_off() -> None:
    overrides = {SATURDAY: [(time(10), time(11)), (time(12), time(13))]}
    slots = slots_on(SATURDAY, rules(60, 60), [clinician(date_overrides=overrides)])
    assert hhmm(slots) == ["10:00", "12:00"]


def test_empty_override_closes_the_day() -> None:
    slots = slots_on(MONDAY, rules(), [clinician(date_overrides={MONDAY: ()})], days=2)
    assert {slot.start_utc.date() for slot in slots} == {TUESDAY}


def test_override_wins_over_effective_dated_hours() -> None:
    hours = (WeeklyHours(0, time(9), time(12), effective_from=MONDAY),)
    chosen = clinician(hours=hours, date_overrides={MONDAY: ((time(11), time(12)),)})
    assert hhmm(slots_on(MONDAY, rules(60, 60), [chosen])) == ["11:00"]


# --- busy, time off, buffers ----------------------------------------------------


def test_time_off_removes_overlapping_slots_and_touching_is_fine() -> None:
    away = clinician(time_off=(TimeRange(at(MONDAY, 10), at(MONDAY, 11)),))
    assert hhmm(slots_on(MONDAY, rules(60, 30), [away])) == ["09:00", "11:00"]


def test_time_off_spanning_days_blocks_all_of_them() -> None:
    away = clinician(time_off=(TimeRange(at(MONDAY, 0), at(WEDNESDAY, 0)),))
    slots = slots_on(MONDAY, rules(), [away], days=3)
    assert {slot.start_utc.date() for slot in slots} == {WEDNESDAY}


def test_busy_intervals_block_like_time_off_in_any_input_order() -> None:
    busy = (TimeRange(at(MONDAY, 11), at(MONDAY, 11, 30)), TimeRange(at(MONDAY, 9, 30), at(MONDAY, 10)))
    assert hhmm(slots_on(MONDAY, rules(30, 30), [clinician(busy=busy)])) == ["09:00", "10:00", "10:30", "11:30"]


def test_overlapping_busy_intervals_merge() -> None:
    busy = (TimeRange(at(MONDAY, 9), at(MONDAY, 10)), TimeRange(at(MONDAY, 9, 30), at(MONDAY, 10, 30)))
    assert hhmm(slots_on(MONDAY, rules(30, 30), [clinician(busy=busy)])) == ["10:30", "11:00", "11:30"]


def test_busy_intervals_in_another_zone_compare_by_instant() -> None:
    new_york = ZoneInfo("America/New_York")
    busy = (TimeRange(datetime(2025, 1, 6, 5, tzinfo=new_york), datetime(2025, 1, 6, 6, tzinfo=new_york)),)
    assert hhmm(slots_on(MONDAY, rules(60, 60), [clinician(busy=busy)])) == ["09:00", "11:00"]


def test_buffer_before_keeps_distance_from_a_preceding_booking() -> None:
    busy = (TimeRange(at(MONDAY, 9), at(MONDAY, 10)),)
    appointment = rules(30, 15, buffer_before=minutes(15))
    assert hhmm(slots_on(MONDAY, appointment, [clinician(busy=busy)]))[:2] == ["10:15", "10:30"]


def test_buffer_after_keeps_distance_from_a_following_booking() -> None:
    busy = (TimeRange(at(MONDAY, 11), at(MONDAY, 12)),)
    appointment = rules(30, 15, buffer_after=minutes(15))
    assert hhmm(slots_on(MONDAY, appointment, [clinician(busy=busy)]))[-2:] == ["10:00", "10:15"]


def test_buffers_on_both_sides_around_a_booking() -> None:
    busy = (TimeRange(at(MONDAY, 10), at(MONDAY, 10, 30)),)
    appointment = rules(30, 15, buffer_before=minutes(15), buffer_after=minutes(15))
    starts = hhmm(slots_on(MONDAY, appointment, [clinician(busy=busy)]))
    assert starts == ["09:00", "09:15", "10:45", "11:00", "11:15", "11:30"]


def test_buffers_may_extend_outside_working_hours() -> None:
    appointment = rules(60, 60, buffer_before=minutes(30), buffer_after=minutes(30))
    assert hhmm(slots_on(MONDAY, appointment, [clinician()])) == ["09:00", "10:00", "11:00"]


def test_buffer_reaching_into_time_off_before_opening_blocks_the_first_slot() -> None:
    away = clinician(time_off=(TimeRange(at(MONDAY, 8), at(MONDAY, 9)),))
    appointment = rules(60, 60, buffer_before=minutes(1))
    assert hhmm(slots_on(MONDAY, appointment, [away])) == ["10:00", "11:00"]


def test_one_clinicians_busy_time_leaves_another_free() -> None:
    busy = (TimeRange(at(MONDAY, 9), at(MONDAY, 12)),)
    slots = slots_on(MONDAY, rules(60, 60), [clinician("c1", busy=busy), clinician("c2")])
    assert [slot.clinician_id for slot in slots] == ["c2", "c2", "c2"]


# --- rooms ---------------------------------------------------------------------------


def chair(room_id: str, *busy: TimeRange, location: str = "loc-1", kind: str = "chair") -> Room:
    return Room(room_id, location, kind, busy)


def test_no_room_of_the_kind_means_no_slot() -> None:
    rooms = [chair("r1", kind="office"), chair("r2", location="loc-2")]
    assert slots_on(MONDAY, rules(room_kind="chair"), [clinician()], rooms) == []


def test_all_rooms_busy_means_no_slot_then() -> None:
    taken = TimeRange(at(MONDAY, 9), at(MONDAY, 10))
    rooms = [chair("r1", taken), chair("r2", taken)]
    slots = slots_on(MONDAY, rules(60, 60, room_kind="chair"), [clinician()], rooms)
    assert hhmm(slots) == ["10:00", "11:00"]


def test_lowest_free_room_id_is_chosen() -> None:
    rooms = [chair("chair-b"), chair("chair-a", TimeRange(at(MONDAY, 10), at(MONDAY, 11)))]
    slots = slots_on(MONDAY, rules(60, 60, room_kind="chair"), [clinician()], rooms)
    assert [(hhmm([s])[0], s.room_id) for s in slots] == [
        ("09:00", "chair-a"), ("10:00", "chair-b"), ("11:00", "chair-a"),
    ]


def test_room_must_be_free_for_the_buffers_too() -> None:
    rooms = [chair("r1", TimeRange(at(MONDAY, 10), at(MONDAY, 11)))]
    appointment = rules(60, 60, buffer_after=minutes(15), room_kind="chair")
    assert hhmm(slots_on(MONDAY, appointment, [clinician()], rooms)) == ["11:00"]


def test_room_busy_touching_the_blocked_range_is_fine() -> None:
    rooms = [chair("r1", TimeRange(at(MONDAY, 8), at(MONDAY, 8, 45)))]
    appointment = rules(60, 60, buffer_before=minutes(15), room_kind="chair")
    assert hhmm(slots_on(MONDAY, appointment, [clinician()], rooms)) == ["09:00", "10:00", "11:00"]


def test_room_with_falsy_id_is_still_a_room() -> None:
    slots = slots_on(MONDAY, rules(60, 60, room_kind="chair"), [clinician()], [chair("")])
    assert [slot.room_id for slot in slots] == ["", "", ""]


def test_rooms_are_shared_per_location_and_picked_per_clinician_location() -> None:
    elsewhere = ClinicianSchedule("c2", "loc-2", ZONE, weekdays((time(9), time(10))))
    rooms = [chair("a-here"), chair("b-there", location="loc-2")]
    slots = slots_on(MONDAY, rules(60, 60, room_kind="chair"), [clinician(), elsewhere], rooms)
    assert [(s.clinician_id, s.location_id, s.room_id) for s in slots if s.start_utc == at(MONDAY, 9)] == [
        ("c1", "loc-1", "a-here"), ("c2", "loc-2", "b-there"),
    ]


def test_rooms_are_ignored_when_the_appointment_needs_none() -> None:
    rooms = [chair("r1", TimeRange(at(MONDAY, 0), at(TUESDAY, 0)))]
    assert [s.room_id for s in slots_on(MONDAY, rules(60, 60), [clinician()], rooms)] == [None] * 3


# --- notice, horizon, window -------------------------------------------------------


def test_minimum_notice_filters_but_does_not_shift_the_grid() -> None:
    now = at(MONDAY, 8, 7)
    assert hhmm(slots_on(MONDAY, rules(30, 30, min_notice=minutes(60)), [clinician()], now=now))[0] == "09:30"


def test_start_exactly_at_the_minimum_notice_is_allowed() -> None:
    now = at(MONDAY, 8)
    assert hhmm(slots_on(MONDAY, rules(60, 60, min_notice=minutes(60)), [clinician()], now=now))[0] == "09:00"


def test_minimum_notice_across_days() -> None:
    now = at(MONDAY, 10, 30)
    slots = slots_on(MONDAY, rules(60, 60, min_notice=timedelta(hours=24)), [clinician()], now=now, days=2)
    assert [s.start_utc for s in slots] == [at(TUESDAY, 11)]


def test_horizon_is_inclusive() -> None:
    appointment = rules(60, 60, horizon=timedelta(days=1, hours=1))
    slots = slots_on(MONDAY, appointment, [clinician()], now=at(MONDAY, 9), days=3)
    monday, tuesday = [at(MONDAY, h) for h in (9, 10, 11)], [at(TUESDAY, h) for h in (9, 10)]
    assert [s.start_utc for s in slots] == monday + tuesday


def test_slots_in_the_past_are_never_offered() -> None:
    assert hhmm(slots_on(MONDAY, rules(60, 60), [clinician()], now=at(MONDAY, 10))) == ["10:00", "11:00"]


def test_window_start_is_inclusive_and_window_end_exclusive() -> None:
    found = within(rules(60, 30), at(MONDAY, 9, 30), at(MONDAY, 10, 30))
    assert hhmm(found) == ["09:30", "10:00"]


def test_a_slot_starting_in_the_window_may_end_after_it() -> None:
    found = within(rules(60, 60), at(MONDAY, 11), at(MONDAY, 11, 1))
    assert [s.end_utc for s in found] == [at(MONDAY, 12)]


def test_empty_or_inverted_window_has_no_slots() -> None:
    assert within(rules(), at(MONDAY, 10), at(MONDAY, 10)) == []
    assert within(rules(), at(MONDAY, 11), at(MONDAY, 9)) == []


def test_window_bounds_given_in_a_patient_zone_are_instants() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime(2025, 1, 6, 19, tzinfo=tokyo)  # 10:00 UTC
    found = within(rules(60, 60), start, start + timedelta(hours=1))
    assert [s.start_utc for s in found] == [at(MONDAY, 10)]
    assert found[0].start_utc.tzinfo is timezone.utc


# --- ordering and the single-slot check ----------------------------------------------


def test_slots_sort_by_start_then_clinician_id() -> None:
    early = weekdays((time(8), time(10)))
    slots = slots_on(MONDAY, rules(60, 60), [clinician("b"), clinician("a"), clinician("c", hours=early)])
    assert [(hhmm([s])[0], s.clinician_id) for s in slots] == [
        ("08:00", "c"), ("09:00", "a"), ("09:00", "b"), ("09:00", "c"),
        ("10:00", "a"), ("10:00", "b"), ("11:00", "a"), ("11:00", "b"),
    ]


def test_slot_at_confirms_an_offered_start_with_its_room() -> None:
    rooms = [chair("r2"), chair("r1", TimeRange(at(MONDAY, 10), at(MONDAY, 11)))]
    appointment = rules(60, 30, room_kind="chair")
    assert slot_at(appointment, clinician(), rooms, now=LONG_AGO, start=at(MONDAY, 10)) == Slot(
        at(MONDAY, 10), at(MONDAY, 11), "c1", "loc-1", "r2"
    )


@pytest.mark.parametrize(
    ("start", "why"),
    [
        (at(MONDAY, 9, 10), "not on the slot grid"),
        (at(MONDAY, 11, 30), "would run past closing"),
        (at(MONDAY, 10), "overlaps a booking"),
        (at(SATURDAY, 10), "not a working day"),
    ],
)
def test_slot_at_refuses_starts_that_are_not_free_slots(start: datetime, why: str) -> None:
    busy = (TimeRange(at(MONDAY, 10, 30), at(MONDAY, 11)),)
    assert slot_at(rules(60, 30), clinician(busy=busy), [], now=LONG_AGO, start=start) is None, why


def test_slot_at_applies_minimum_notice() -> None:
    appointment = rules(60, 60, min_notice=timedelta(hours=2))
    assert slot_at(appointment, clinician(), [], now=at(MONDAY, 8), start=at(MONDAY, 9)) is None
    assert slot_at(appointment, clinician(), [], now=at(MONDAY, 8), start=at(MONDAY, 10)) is not None


def test_slot_at_agrees_with_find_slots_on_every_candidate() -> None:
    busy = (TimeRange(at(MONDAY, 9, 45), at(MONDAY, 10, 15)),)
    who = clinician(busy=busy)
    offered = {s.start_utc for s in slots_on(MONDAY, rules(30, 15), [who])}
    for quarter in range(4 * 24):
        start = at(MONDAY, 0) + minutes(15 * quarter)
        assert (slot_at(rules(30, 15), who, [], now=LONG_AGO, start=start) is not None) == (start in offered)


# --- working intervals for staff calendars ----------------------------------------------


def test_working_intervals_on_a_day_in_utc() -> None:
    hours = weekdays((time(13, 30), time(18)), (time(9), time(12, 30)))
    assert working_intervals_on(clinician(hours=hours), MONDAY) == [
        TimeRange(at(MONDAY, 9), at(MONDAY, 12, 30)),
        TimeRange(at(MONDAY, 13, 30), at(MONDAY, 18)),
    ]
    assert working_intervals_on(clinician(hours=hours), SATURDAY) == []


def test_working_intervals_between_are_clipped_to_the_range() -> None:
    found = working_intervals_between(clinician(), at(MONDAY, 10), at(TUESDAY, 10))
    assert found == [TimeRange(at(MONDAY, 10), at(MONDAY, 12)), TimeRange(at(TUESDAY, 9), at(TUESDAY, 10))]


# --- validation ------------------------------------------------------------------------


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError):
        TimeRange(datetime(2025, 1, 6, 9), datetime(2025, 1, 6, 10))
    with pytest.raises(ValueError):
        TimeRange(at(MONDAY, 10), at(MONDAY, 10))
    with pytest.raises(ValueError):
        WeeklyHours(0, time(12), time(9))
    with pytest.raises(ValueError):
        WeeklyHours(7, time(9), time(12))
    with pytest.raises(ValueError):
        AppointmentRules(timedelta(0))
    with pytest.raises(ValueError):
        AppointmentRules(minutes(30), buffer_before=minutes(-5))
    with pytest.raises(ValueError):
        clinician(date_overrides={MONDAY: ((time(10), time(10)),)})
    with pytest.raises(ValueError):
        slots_on(MONDAY, rules(), [clinician()], now=datetime(2025, 1, 1))


def test_time_ranges_are_stored_in_utc() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    stored = TimeRange(datetime(2025, 1, 6, 10, tzinfo=berlin), datetime(2025, 1, 6, 11, tzinfo=berlin))
    assert (stored.start, stored.end) == (at(MONDAY, 9), at(MONDAY, 10))
    assert stored.start.tzinfo is timezone.utc
