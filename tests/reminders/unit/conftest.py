"""Builders for booking snapshots and branding, so each test states only what it is about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.branding import ClinicBranding

BOOKING_ID = "5b0c7a7e-2f0c-4c61-9d55-7f6a4c1f0a11"
# Tuesday 9 March 2027, 10:30 in New York (EST, UTC−5).
START = datetime(2027, 3, 9, 15, 30, tzinfo=UTC)


def build_snapshot(**changes: Any) -> BookingSnapshot:
    base = BookingSnapshot(
        booking_id=BOOKING_ID,
        sequence=0,
        status="booked",
        appointment_type_code="IV-INFUSION",
        appointment_type_name="IV ketamine infusion",
        category="dosing_iv",
        start=START,
        end=START + timedelta(hours=2),
        patient_timezone="America/New_York",
        location_name="Harbor Clinic Downtown",
        location_timezone="America/New_York",
        location_address="100 Harbor Street, Boston, MA 02110",
        modality="in_person",
        clinician_name="Dr Rivera",
        patient_name="Alex Morgan",
        patient_email="alex@example.org",
        manage_url="https://book.harbor.example/manage/tok-123",
        cancellation_notice_hours=24,
    )
    return replace(base, **changes)


@pytest.fixture(scope="session")
def make_snapshot() -> Callable[..., BookingSnapshot]:
    """Build a snapshot: an in-person IV dosing session, Tuesday 9 March 2027 10:30 New York, with changes."""
    return build_snapshot


@pytest.fixture(scope="session")
def branding() -> ClinicBranding:
    return ClinicBranding(
        name="Harbor Clinic",
        from_address="appointments@harbor.example",
        reply_to="frontdesk@harbor.example",
        brand_colour="#1a6b5c",
        website_url="https://harbor.example",
        postal_address="100 Harbor Street, Boston, MA 02110",
    )
