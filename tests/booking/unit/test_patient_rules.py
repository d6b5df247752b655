"""Returning patients' pure rules: one email however typed, hashed secrets, link and session lifetimes,
what a patient is told of their screening."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from kapbook_booking.domain.patients import (
    SESSION_IDLE,
    SIGN_IN_LINK_LIFETIME,
    link_usable,
    new_secret,
    normalise_email,
    screening_status,
    secret_hash,
    session_alive,
)

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)


def test_emails_are_stripped_and_lower_cased():
    assert normalise_email("  Pat@Example.org\n") == normalise_email("pat@example.org") == "pat@example.org"


def test_secrets_are_random_and_stored_as_sha256():
    first, second = new_secret(), new_secret()
    assert first != second and len(first) >= 43
    assert secret_hash(first) == hashlib.sha256(first.encode()).hexdigest() != first
    assert secret_hash("\udcff")  # a lone surrogate from a tampered URL hashes instead of raising


def test_a_link_works_once_and_for_30_minutes():
    expires = NOW + SIGN_IN_LINK_LIFETIME
    assert SIGN_IN_LINK_LIFETIME == timedelta(minutes=30)
    assert link_usable(expires, None, expires - timedelta(seconds=1))
    assert not link_usable(expires, None, expires)
    assert not link_usable(expires, NOW, NOW + timedelta(minutes=1))


def test_a_session_ends_after_30_idle_minutes():
    assert SESSION_IDLE == timedelta(minutes=30)
    assert session_alive(NOW, NOW + timedelta(minutes=29, seconds=59))
    assert not session_alive(NOW, NOW + timedelta(minutes=30))


def test_screening_status_is_the_longest_valid_allowed_decision_else_the_latest_expired_one():
    old = ("s-old", True, NOW - timedelta(days=100), NOW + timedelta(days=10))  # past the clinic's 90 days
    declined = ("s-no", False, NOW - timedelta(days=1), NOW + timedelta(days=89))
    recent = ("s-new", True, NOW - timedelta(days=5), NOW + timedelta(days=85))
    assert screening_status([old, declined, recent], NOW, 90).state == "valid"
    assert screening_status([old, declined, recent], NOW, 90).screening_id == "s-new"
    expired = screening_status([old, declined], NOW, 90)
    assert (expired.state, expired.screening_id, expired.decided_at) == ("expired", None, NOW - timedelta(days=100))
    assert expired.valid_until == NOW - timedelta(days=10), "the earlier of its own expiry and the clinic's 90 days"
    assert screening_status([declined], NOW, 90).state == "none"
    assert screening_status([], NOW, 90).state == "none"


def test_a_session_of_a_course_reads_as_its_place_in_the_series():
    from kapbook_booking.entrypoints.web.my_pages import series_label

    assert series_label({"series_id": "s", "protocol_name": "IV induction", "position": 3, "size": 6}) == "IV induction: session 3 of 6"
    assert series_label(None) is None
