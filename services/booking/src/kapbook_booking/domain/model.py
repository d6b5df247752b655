"""Booking domain objects and rules that need no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kapbook_booking.domain.availability import AppointmentRules

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

    def availability_rules(self) -> AppointmentRules:
        """The availability engine's view of this type."""
        return AppointmentRules(
            duration=self.duration,
            buffer_before=self.buffer_before,
            buffer_after=self.buffer_after,
            min_notice=self.min_notice,
            horizon=self.horizon,
            slot_step=self.slot_step,
            room_kind=self.room_kind,
        )

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


class InvalidAvailabilityQuery(BookingError):
    code, status = "invalid_availability_query", 422


class HoldNotFound(BookingError):
    code, status = "hold_not_found", 409


class BookingNotFound(BookingError):
    code, status = "not_found", 404


class OutsidePolicyWindow(BookingError):
    """A patient's change too close to the appointment; the message quotes the clinic's policy."""

    code, status = "outside_policy_window", 409


class InvalidTransition(BookingError):
    code, status = "invalid_status_change", 409


class ManageLinkExpired(BookingError):
    code, status = "manage_link_expired", 403


class ScreeningRequired(BookingError):
    code, status = "screening_required", 422


class NotEligible(BookingError):
    code, status = "not_eligible", 403


class EligibilityUnavailable(BookingError):
    """The eligibility service could not be asked; the client should retry shortly."""

    code, status = "eligibility_unavailable", 503
    retry_after_seconds = 30


# Which status changes staff may make, from which statuses (FHIR Appointment statuses).
TRANSITIONS = {
    "arrive": ({"booked"}, "arrived"),
    "complete": ({"booked", "arrived"}, "fulfilled"),
    "no_show": ({"booked"}, "noshow"),
    "cancel": ({"booked", "arrived"}, "cancelled"),
}


def check_policy_window(notice: timedelta, start: datetime, now: datetime, action: str) -> None:
    """Patients may cancel or reschedule only up to ``notice`` before the start."""
    if now > start - notice:
        hours = notice.total_seconds() / 3600
        raise OutsidePolicyWindow(
            f"Appointments can be {action} online up to {hours:g} hours before they start. "
            "Please call the clinic to make a change this close to your appointment."
        )


def next_status(action: str, current: str) -> str:
    allowed_from, target = TRANSITIONS[action]
    if current not in allowed_from:
        raise InvalidTransition(f"A booking that is {current} cannot be changed that way.")
    return target


def check_booking_window(kind: AppointmentType, start: datetime, now: datetime) -> None:
    """Refuse starts inside the minimum notice or beyond the booking horizon."""
    if start < now + kind.min_notice:
        hours = kind.min_notice.total_seconds() / 3600
        raise OutsideBookingWindow(f"This appointment needs at least {hours:g} hours' notice.")
    if start > now + kind.horizon:
        raise OutsideBookingWindow(f"This appointment can be booked at most {kind.horizon.days} days ahead.")
