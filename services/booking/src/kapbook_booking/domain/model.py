"""Booking domain objects and rules that need no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FHIR_STATUSES = ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error")


@dataclass(frozen=True)
class AppointmentType:
    id: str
    code: str
    name: str
    category: str
    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    min_notice: timedelta
    horizon: timedelta
    slot_step: timedelta
    modality: str
    room_kind: str | None
    requires_eligibility: bool
    requires_driver: bool
    cancel_notice: timedelta
    reschedule_notice: timedelta

    def blocked_range(self, start: datetime) -> tuple[datetime, datetime]:
        """The time a booking at ``start`` takes from the clinician and room, buffers included."""
        return start - self.buffer_before, start + self.duration + self.buffer_after


class BookingError(Exception):
    """A booking request the domain refuses; ``code`` is stable, the message is for people."""

    code = "booking_refused"
    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SlotUnavailable(BookingError):
    code, status = "slot_unavailable", 409


class UnknownAppointmentType(BookingError):
    code, status = "unknown_appointment_type", 422


class OutsideBookingWindow(BookingError):
    code, status = "outside_booking_window", 422


class DriverConfirmationRequired(BookingError):
    code, status = "driver_confirmation_required", 422


class IdempotencyKeyReused(BookingError):
    code, status = "idempotency_key_reused", 422


def check_booking_window(kind: AppointmentType, start: datetime, now: datetime) -> None:
    """Refuse starts inside the minimum notice or beyond the booking horizon."""
    if start < now + kind.min_notice:
        hours = kind.min_notice.total_seconds() / 3600
        raise OutsideBookingWindow(f"This appointment needs at least {hours:g} hours' notice.")
    if start > now + kind.horizon:
        raise OutsideBookingWindow(f"This appointment can be booked at most {kind.horizon.days} days ahead.")
