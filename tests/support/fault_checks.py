"""What must hold after any fault: every booking confirmed exactly once, nothing stuck, all healthy."""
from __future__ import annotations

import time
from collections import Counter

from support.patients import BookingBurst
from support.system import SERVICES, SystemUnderTest


def wait_for_emails(system: SystemUnderTest, expected: int, timeout: float = 180) -> None:
    """Wait until ``expected`` emails arrived and no more arrive for a moment (a duplicate would)."""
    deadline = time.monotonic() + timeout
    while system.email_count() < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3.0)  # anything sent twice would arrive by now


def one_confirmation_per_booking(system: SystemUnderTest, burst: BookingBurst) -> None:
    recipients = Counter(str(message["To"]).split("<")[-1].rstrip(">") for message in system.emails())
    missing = sorted(set(burst.booked) - set(recipients))
    doubled = {address: n for address, n in recipients.items() if n > 1}
    unexpected = sorted(set(recipients) - set(burst.booked))
    assert not missing, f"{len(missing)} bookings got no confirmation, e.g. {missing[:5]}"
    assert not doubled, f"{len(doubled)} patients got more than one email, e.g. {list(doubled.items())[:5]}"
    assert not unexpected, f"emails to addresses that booked nothing: {unexpected[:5]}"
    subjects = Counter(str(message["Subject"]).split(" on ")[0] for message in system.emails())
    assert set(subjects) == {"Your appointment"}, subjects


def no_overlapping_bookings(system: SystemUnderTest) -> None:
    overlaps = system.query("booking", """
        SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id AND a.clinician_id = b.clinician_id
        WHERE a.status IN ('booked', 'arrived', 'fulfilled') AND b.status IN ('booked', 'arrived', 'fulfilled')
          AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end""")
    assert overlaps[0][0] == 0


def settled_and_healthy(system: SystemUnderTest, services: tuple[str, ...] = SERVICES, timeout: float = 60) -> None:
    """Outboxes drained, nothing dead-lettered, every process alive, ready and beating."""
    deadline = time.monotonic() + timeout
    while any(system.pending_outbox().values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert system.pending_outbox() == {"booking": 0, "eligibility": 0, "reminders": 0}
    assert system.dead_letters() == {"booking": 0, "eligibility": 0, "reminders": 0}
    system.wait_until_healthy(services, timeout=max(5.0, deadline - time.monotonic()))


def every_booking_made(burst: BookingBurst, expected: int) -> None:
    assert not burst.failures, f"{len(burst.failures)} bookings failed, e.g. {burst.failures[:3]}"
    assert len(burst.booked) == expected
    assert 500 not in burst.statuses, f"a 500 reached a patient: {burst.statuses}"
