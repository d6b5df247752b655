"""Wall-clock wording: the patient's zone, named, and never ambiguous."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kapbook_reminders.domain.local_time import (
    describe_zone,
    format_clock,
    format_date,
    format_moment,
    format_span,
    format_utc_offset,
    same_wall_clock,
)

TUESDAY_1530_UTC = datetime(2027, 3, 9, 15, 30, tzinfo=UTC)


def test_moment_is_stated_in_the_patients_zone_with_its_name():
    assert (
        format_moment(TUESDAY_1530_UTC, "America/New_York")
        == "Tuesday 9 March 2027, 10:30 (Eastern Time — America/New_York)"
    )


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/Los_Angeles", "Tuesday 9 March 2027, 07:30 (Pacific Time — America/Los_Angeles)"),
        ("Europe/Berlin", "Tuesday 9 March 2027, 16:30 (Central European Time — Europe/Berlin)"),
        ("Asia/Kolkata", "Tuesday 9 March 2027, 21:00 (India Time — Asia/Kolkata)"),
        ("Asia/Kathmandu", "Tuesday 9 March 2027, 21:15 (UTC+05:45 — Asia/Kathmandu)"),
        ("America/Sao_Paulo", "Tuesday 9 March 2027, 12:30 (UTC−03:00 — America/Sao_Paulo)"),
        ("Pacific/Auckland", "Wednesday 10 March 2027, 04:30 (New Zealand Time — Pacific/Auckland)"),
    ],
)
def test_zones_without_a_common_name_are_described_by_their_offset(zone, expected):
    assert format_moment(TUESDAY_1530_UTC, zone) == expected


def test_twelve_hour_clock():
    assert format_clock(TUESDAY_1530_UTC, "America/New_York", twelve_hour=True) == "10:30 am"
    assert format_clock(TUESDAY_1530_UTC, "Europe/London", twelve_hour=True) == "3:30 pm"
    assert format_clock(datetime(2027, 3, 9, 5, 5, tzinfo=UTC), "America/New_York", twelve_hour=True) == "12:05 am"
    assert format_clock(datetime(2027, 3, 9, 17, 0, tzinfo=UTC), "America/New_York", twelve_hour=True) == "12:00 pm"


def test_date_without_year_for_subjects():
    assert format_date(TUESDAY_1530_UTC, "America/New_York", with_year=False) == "Tuesday 9 March"


def test_date_is_the_local_date_not_the_utc_date():
    late_evening_in_new_york = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)

    assert format_date(late_evening_in_new_york, "America/New_York") == "Tuesday 9 March 2027"


def test_span_repeats_the_date_only_when_the_end_is_on_another_day():
    same_day = format_span(TUESDAY_1530_UTC, TUESDAY_1530_UTC + timedelta(hours=1), "America/New_York")
    overnight = format_span(TUESDAY_1530_UTC, TUESDAY_1530_UTC + timedelta(hours=14), "America/New_York")

    assert same_day == "Tuesday 9 March 2027, 10:30 to 11:30 (Eastern Time — America/New_York)"
    assert overnight == (
        "Tuesday 9 March 2027, 10:30 to Wednesday 10 March 2027, 00:30 (Eastern Time — America/New_York)"
    )


def test_same_clock_reading_on_both_sides_of_spring_forward_shows_the_new_offset():
    # 14 March 2027: New York clocks jump from 02:00 EST to 03:00 EDT.
    before = datetime(2027, 3, 13, 15, 0, tzinfo=UTC)
    after = datetime(2027, 3, 14, 14, 0, tzinfo=UTC)

    assert format_moment(before, "America/New_York").startswith("Saturday 13 March 2027, 10:00")
    assert format_moment(after, "America/New_York").startswith("Sunday 14 March 2027, 10:00")


def test_repeated_hour_after_fall_back_carries_the_utc_offset():
    # 7 November 2027: New York clocks go back from 02:00 EDT to 01:00 EST, so 01:30 happens twice.
    first = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)

    assert format_moment(first, "America/New_York") == (
        "Sunday 7 November 2027, 01:30 (Eastern Time, UTC−04:00 — America/New_York)"
    )
    assert format_moment(second, "America/New_York") == (
        "Sunday 7 November 2027, 01:30 (Eastern Time, UTC−05:00 — America/New_York)"
    )
    assert describe_zone(datetime(2027, 11, 7, 15, 0, tzinfo=UTC), "America/New_York") == (
        "Eastern Time — America/New_York"
    )


def test_same_wall_clock_compares_local_readings():
    assert same_wall_clock(TUESDAY_1530_UTC, "America/New_York", "America/Toronto")
    assert not same_wall_clock(TUESDAY_1530_UTC, "America/New_York", "America/Chicago")


def test_utc_offsets_use_a_true_minus_sign():
    assert format_utc_offset(timedelta(hours=-4)) == "UTC−04:00"
    assert format_utc_offset(timedelta(hours=5, minutes=30)) == "UTC+05:30"
    assert format_utc_offset(timedelta(0)) == "UTC"


def test_unknown_zone_and_naive_times_are_refused():
    with pytest.raises(ValueError, match="unknown time zone"):
        format_moment(TUESDAY_1530_UTC, "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="timezone-aware"):
        format_moment(datetime(2027, 3, 9, 10, 30), "America/New_York")
