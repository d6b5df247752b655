"""The last check before a planned message goes out, and which booking version wins."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kapbook_reminders.domain.plan import (
    BOOKING_CHANGED,
    OVERTAKEN,
    STARTED_BEFORE_SENDING,
    BookingVersion,
    reason_not_to_send,
)

START = datetime(2027, 3, 9, 15, 30, tzinfo=UTC)
BEFORE = START - timedelta(hours=1)
AFTER = START + timedelta(minutes=1)


def reason(kind, *, sequence=0, now=BEFORE, latest=None, later_reminder_due=False):
    return reason_not_to_send(
        kind, sequence=sequence, start=START, now=now, latest=latest, later_reminder_due=later_reminder_due
    )


@pytest.mark.parametrize("kind", ["confirmation", "reminder", "preparation", "reschedule_notice", "follow_up"])
def test_current_message_before_the_start_is_sent(kind):
    assert reason(kind, latest=BookingVersion(0, "booked")) is None


def test_unknown_booking_version_does_not_block_sending():
    assert reason("reminder", latest=None) is None


@pytest.mark.parametrize("kind", ["confirmation", "reminder", "preparation", "reschedule_notice", "follow_up"])
def test_nothing_but_the_notice_once_the_booking_is_cancelled(kind):
    assert reason(kind, latest=BookingVersion(1, "cancelled")) == BOOKING_CHANGED
    assert reason(kind, sequence=1, latest=BookingVersion(1, "cancelled")) == BOOKING_CHANGED


def test_cancellation_notice_of_the_newest_version_is_sent():
    assert reason("cancellation_notice", sequence=2, latest=BookingVersion(2, "cancelled")) is None


def test_message_of_an_older_version_is_held_back():
    assert reason("reminder", sequence=0, latest=BookingVersion(1, "booked")) == BOOKING_CHANGED


@pytest.mark.parametrize("status", ["noshow", "fulfilled"])
def test_no_reminder_after_the_visit_ended(status):
    assert reason("reminder", latest=BookingVersion(0, status)) == BOOKING_CHANGED


def test_follow_up_still_goes_after_a_fulfilled_visit_but_not_after_a_no_show():
    assert reason("follow_up", now=AFTER, latest=BookingVersion(0, "fulfilled")) is None
    assert reason("follow_up", now=AFTER, latest=BookingVersion(0, "noshow")) == BOOKING_CHANGED


@pytest.mark.parametrize("kind", ["confirmation", "reminder", "preparation", "reschedule_notice"])
def test_nothing_about_the_visit_to_come_once_it_started(kind):
    assert reason(kind, now=START) == STARTED_BEFORE_SENDING
    assert reason(kind, now=START - timedelta(seconds=1)) is None


def test_overtaken_reminder_is_skipped_but_other_kinds_are_not():
    assert reason("reminder", later_reminder_due=True) == OVERTAKEN
    assert reason("preparation", later_reminder_due=True) is None


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        reason("reminder", now=datetime(2027, 3, 9, 12, 0))


@pytest.mark.parametrize(
    ("latest", "incoming", "older"),
    [
        ((1, "booked"), (0, "booked"), True),
        ((1, "booked"), (0, "cancelled"), True),
        ((1, "booked"), (2, "booked"), False),
        ((1, "booked"), (1, "booked"), False),  # the same event again: harmless, plans nothing new
        ((1, "booked"), (1, "cancelled"), False),  # a cancellation that did not raise the sequence
        ((1, "cancelled"), (1, "booked"), True),  # a late duplicate cannot revive a cancelled booking
        ((0, "noshow"), (0, "booked"), True),
        ((0, "fulfilled"), (0, "noshow"), False),
    ],
)
def test_which_event_is_older_than_the_newest_version(latest, incoming, older):
    assert BookingVersion(*latest).supersedes(*incoming) is older
