"""Property-based tests of the availability engine.

Random clinics around DST transitions in several zones. The engine is checked two ways:
against the booking invariants stated directly, and against a deliberately naive
reference that walks every candidate and scans every busy range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from kapbook_booking.domain.availability import (
    AppointmentRules,
    ClinicianSchedule,
    Room,
    Slot,
    TimeRange,
    WeeklyHours,
    find_slots,
    local_to_utc,
    slot_at,
)

UTC = timezone.utc
SPRING_NORTH, FALL_NORTH = [date(2025, 3, 9), date(2025, 11, 2)], [date(2025, 3, 30), date(2025, 10, 26)]
SOUTH = [date(2025, 4, 6), date(2025, 10, 5)]
# Zones with the local dates of their 2025 transitions (or plain dates where there are none).
TRANSITION_DAYS = {
    ZoneInfo("America/New_York"): SPRING_NORTH,
    ZoneInfo("America/Los_Angeles"): SPRING_NORTH,
    ZoneInfo("America/St_Johns"): SPRING_NORTH,  # -03:30 / -02:30
    ZoneInfo("Europe/Berlin"): FALL_NORTH,
    ZoneInfo("Australia/Sydney"): SOUTH,
    ZoneInfo("Australia/Lord_Howe"): SOUTH,  # half-hour shifts
    ZoneInfo("Pacific/Chatham"): [date(2025, 4, 6), date(2025, 9, 28)],  # +12:45 / +13:45
    ZoneInfo("Asia/Kolkata"): [date(2025, 1, 15)],
    ZoneInfo("UTC"): [date(2025, 7, 15)],
}
ZONES = list(TRANSITION_DAYS)
ANCHORS = sorted({day for days in TRANSITION_DAYS.values() for day in days})
LOCATIONS = ["loc-a", "loc-a", "loc-b"]
PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, database=None)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


@dataclass(frozen=True)
class Clinic:
    rules: AppointmentRules
    clinicians: list[ClinicianSchedule]
    rooms: list[Room]
    now: datetime
    window_start: datetime
    window_end: datetime

    def slots(self) -> list[Slot]:
        return find_slots(self.rules, self.clinicians, self.rooms, now=self.now,
                          window_start=self.window_start, window_end=self.window_end)


# --- strategies -------------------------------------------------------------------------------
# Biased towards clinics that do offer slots; otherwise most examples would prove nothing.

five_minute_marks = st.integers(0, 24 * 12 - 1).map(lambda fives: fives * 5)


@st.composite
def local_hours(draw: st.DrawFn) -> tuple[time, time]:
    start = draw(five_minute_marks)
    end = min(start + draw(st.integers(6, 10 * 12)) * 5, 24 * 60 - 5)
    if end <= start:
        start, end = end - 60, end
    return time(start // 60, start % 60), time(end // 60, end % 60)


@st.composite
def weekly_hours(draw: st.DrawFn, anchor: date) -> list[WeeklyHours]:
    start, end = draw(local_hours())
    effective = st.sampled_from([None] * 5 + [anchor + timedelta(days=d) for d in range(-3, 4)])
    days = draw(st.sampled_from([range(7), range(7), range(5)]) | st.sets(st.integers(0, 6), min_size=1))
    since, until = draw(effective), draw(effective)
    return [WeeklyHours(day, start, end, since, until) for day in sorted(days)]


# Quarter-hour values make ranges touch slots and window edges exactly, now and then.
quarter_hours = st.integers(1, 16).map(lambda quarters: 15 * quarters)


@st.composite
def time_ranges(draw: st.DrawFn, around: datetime, count: int) -> tuple[TimeRange, ...]:
    ranges = []
    for _ in range(draw(st.integers(0, count))):
        offset = draw(st.integers(-96, 384).map(lambda quarters: 15 * quarters) | st.integers(-1440, 5760))
        start = around + minutes(offset)
        ranges.append(TimeRange(start, start + minutes(draw(quarter_hours | st.integers(1, 240)))))
    return tuple(ranges)


@st.composite
def clinicians(
    draw: st.DrawFn, zone: ZoneInfo, anchor: date, around: datetime, clinician_id: str
) -> ClinicianSchedule:
    hours = [h for group in draw(st.lists(weekly_hours(anchor), min_size=1, max_size=3)) for h in group]
    override_days = st.integers(-3, 3).map(lambda days: anchor + timedelta(days=days))
    overrides = draw(st.dictionaries(override_days, st.lists(local_hours(), max_size=2), max_size=2))
    return ClinicianSchedule(
        clinician_id=clinician_id,
        location_id=draw(st.sampled_from(LOCATIONS)),
        zone=draw(st.sampled_from([zone] * len(ZONES) + ZONES)),
        weekly_hours=tuple(hours),
        date_overrides=overrides,
        time_off=draw(time_ranges(around, 1)),
        busy=draw(time_ranges(around, 6)),
    )


@st.composite
def appointment_rules(draw: st.DrawFn) -> AppointmentRules:
    return AppointmentRules(
        duration=minutes(draw(st.integers(1, 36)) * 5),
        buffer_before=minutes(draw(st.sampled_from([0, 0, 5, 15, 30]))),
        buffer_after=minutes(draw(st.sampled_from([0, 0, 5, 15, 30]))),
        min_notice=minutes(draw(st.sampled_from([0, 0, 0, 15, 60, 4 * 60, 24 * 60, 47 * 60 + 35]))),
        horizon=minutes(draw(st.sampled_from([0, 24 * 60, 50 * 60] + [365 * 24 * 60] * 9))),
        slot_step=minutes(draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90]))),
        room_kind=draw(st.sampled_from([None, "chair"])),
    )


lead_times = st.sampled_from([0, 60, 24 * 60, 48 * 60, 72 * 60] * 3) | st.integers(-12 * 60, 48 * 60)


@st.composite
def clinics(draw: st.DrawFn) -> Clinic:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(TRANSITION_DAYS[zone]))
    window_start = datetime.combine(anchor, time(0), UTC) + minutes(15 * draw(st.integers(-144, 96)))
    length = st.sampled_from([24 * 60, 48 * 60, 72 * 60] * 2) | quarter_hours | st.integers(1, 72 * 60)
    window_end = window_start + minutes(draw(length))
    ids = draw(st.lists(st.sampled_from(["c0", "c1", "c2"]), min_size=1, max_size=3, unique=True))
    rooms = [
        Room(f"r{n}", draw(st.sampled_from(LOCATIONS)), draw(st.sampled_from(["chair", "chair", "office"])),
             draw(time_ranges(window_start, 4)))
        for n in range(draw(st.sampled_from([0, 1, 2, 3, 3, 3])))
    ]
    return Clinic(
        rules=draw(appointment_rules()),
        clinicians=[draw(clinicians(zone, anchor, window_start, cid)) for cid in ids],
        rooms=rooms,
        now=window_start - minutes(draw(lead_times)),
        window_start=window_start,
        window_end=window_end,
    )


# --- a naive reference ------------------------------------------------------------------------


def hours_on(schedule: ClinicianSchedule, day: date) -> list[tuple[time, time]]:
    if day in schedule.date_overrides:
        return list(schedule.date_overrides[day])
    return [
        (h.start, h.end)
        for h in schedule.weekly_hours
        if h.weekday == day.weekday()
        and (h.effective_from is None or h.effective_from <= day)
        and (h.effective_until is None or day <= h.effective_until)
    ]


def reference_working_intervals(schedule: ClinicianSchedule, around: datetime) -> list[tuple[datetime, datetime]]:
    centre = around.astimezone(schedule.zone).date()
    spans = []
    for offset in range(-6, 7):
        day = centre + timedelta(days=offset)
        for start, end in hours_on(schedule, day):
            utc_start = local_to_utc(schedule.zone, day, start)
            utc_end = local_to_utc(schedule.zone, day, end, ends_interval=True)
            if utc_start < utc_end:
                spans.append((utc_start, utc_end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def overlaps(start: datetime, end: datetime, ranges: tuple[TimeRange, ...]) -> bool:
    return any(start < r.end and r.start < end for r in ranges)


def blocked_range(rules: AppointmentRules, start: datetime) -> tuple[datetime, datetime]:
    return start - rules.buffer_before, start + rules.duration + rules.buffer_after


def reference_room(clinic: Clinic, schedule: ClinicianSchedule, start: datetime) -> str | None:
    blocked = blocked_range(clinic.rules, start)
    for room in sorted(clinic.rooms, key=lambda r: r.room_id):
        if room.location_id == schedule.location_id and room.kind == clinic.rules.room_kind:
            if not overlaps(*blocked, room.busy):
                return room.room_id
    return None


def bookable(clinic: Clinic, start: datetime) -> bool:
    rules = clinic.rules
    return (
        clinic.window_start <= start < clinic.window_end
        and clinic.now + rules.min_notice <= start <= clinic.now + rules.horizon
    )


def reference_slots(clinic: Clinic) -> list[Slot]:
    rules, found = clinic.rules, []
    for schedule in clinic.clinicians:
        for work_start, work_end in reference_working_intervals(schedule, clinic.window_start):
            start = work_start
            while start + rules.duration <= work_end:
                free = not overlaps(*blocked_range(rules, start), schedule.busy + schedule.time_off)
                room = reference_room(clinic, schedule, start) if rules.room_kind else None
                if bookable(clinic, start) and free and (room is not None or not rules.room_kind):
                    found.append(Slot(start, start + rules.duration, schedule.clinician_id,
                                      schedule.location_id, room))
                start += rules.slot_step
    return sorted(found, key=lambda slot: (slot.start_utc, slot.clinician_id))


# --- properties ----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(clinics())
def test_every_slot_obeys_the_booking_invariants(clinic: Clinic) -> None:
    rules, slots = clinic.rules, clinic.slots()
    by_id = {schedule.clinician_id: schedule for schedule in clinic.clinicians}
    rooms = {room.room_id: room for room in clinic.rooms}
    for slot in slots:
        schedule = by_id[slot.clinician_id]
        blocked = blocked_range(rules, slot.start_utc)
        assert slot.end_utc - slot.start_utc == rules.duration
        assert not overlaps(*blocked, schedule.busy), slot
        assert not overlaps(*blocked, schedule.time_off), slot
        assert bookable(clinic, slot.start_utc), slot
        assert any(start <= slot.start_utc and slot.end_utc <= end
                   for start, end in reference_working_intervals(schedule, slot.start_utc)), slot
        assert slot.location_id == schedule.location_id
        if rules.room_kind is None:
            assert slot.room_id is None
        else:
            room = rooms[slot.room_id]
            assert (room.location_id, room.kind) == (schedule.location_id, rules.room_kind)
            assert not overlaps(*blocked, room.busy), slot
    starts = [(slot.clinician_id, slot.start_utc) for slot in slots]
    assert len(starts) == len(set(starts))
    assert [(s.start_utc, s.clinician_id) for s in slots] == sorted((s.start_utc, s.clinician_id) for s in slots)


@PROPERTY_SETTINGS
@given(clinics())
def test_slots_equal_those_of_a_naive_reference(clinic: Clinic) -> None:
    assert clinic.slots() == reference_slots(clinic)


@PROPERTY_SETTINGS
@given(clinics(), st.data())
def test_slot_at_agrees_with_find_slots(clinic: Clinic, data: st.DataObject) -> None:
    offered = {(s.clinician_id, s.start_utc): s for s in clinic.slots()}
    schedule = data.draw(st.sampled_from(clinic.clinicians))
    own = [start for (cid, start) in offered if cid == schedule.clinician_id]
    window_minutes = (clinic.window_end - clinic.window_start) // minutes(1)
    inside = st.integers(0, window_minutes - 1).map(lambda offset: clinic.window_start + minutes(offset))
    probes = own[:3] + [data.draw(inside) for _ in range(3)]
    for start in probes:
        found = slot_at(clinic.rules, schedule, clinic.rooms, now=clinic.now, start=start)
        assert found == offered.get((schedule.clinician_id, start))


# --- wall clock conversion against a minute-by-minute scan ----------------------------------------


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


@st.composite
def zone_days(draw: st.DrawFn) -> tuple[ZoneInfo, date]:
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(TRANSITION_DAYS[zone] + ANCHORS))
    return zone, day + timedelta(days=draw(st.sampled_from([0, 0, 0, -1, 1])))


# Transitions happen between 01:00 and 04:00 local in these zones; look there half the time.
small_hours = st.integers(60, 4 * 60)


@settings(max_examples=150, deadline=None, database=None)
@given(zone_days(), small_hours | st.integers(0, 24 * 60 - 1))
def test_local_to_utc_matches_a_scan_of_the_clock(zone_day: tuple[ZoneInfo, date], minute: int) -> None:
    zone, day = zone_day
    target = datetime.combine(day, time(minute // 60, minute % 60))
    scan = [datetime.combine(day, time(0), UTC) + minutes(m) for m in range(-15 * 60, 40 * 60)]
    # A start is the first instant the clock reads the wall time or later; an end
    # is the instant after which the clock never again reads earlier than it.
    first_at_or_after = next(u for u in scan if wall(u, zone) >= target)
    last_before = max(u for u in scan if wall(u, zone) < target)
    assert local_to_utc(zone, day, target.time()) == first_at_or_after
    assert local_to_utc(zone, day, target.time(), ends_interval=True) == last_before + minutes(1)
