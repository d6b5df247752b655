"""Booking domain objects and rules that need no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kapbook_booking.domain.availability import AppointmentRules
from kapbook_booking.domain.errors import Conflict, Forbidden, Invalid, NotFound

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


class SlotUnavailable(Conflict):
    code = "slot_unavailable"


class UnknownAppointmentType(Invalid):
    code = "unknown_appointment_type"


class OutsideBookingWindow(Invalid):
    code = "outside_booking_window"


class DriverConfirmationRequired(Invalid):
    code = "driver_confirmation_required"


class IdempotencyKeyReused(Invalid):
    code = "idempotency_key_reused"


class InvalidAvailabilityQuery(Invalid):
    code = "invalid_availability_query"


class HoldNotFound(Conflict):
    """The reservation expired or was never made: the time must be chosen again."""

    code = "hold_not_found"


class BookingNotFound(NotFound):
    code = "not_found"


class OutsidePolicyWindow(Conflict):
    """A patient's change too close to the appointment; the message quotes the clinic's policy."""

    code = "outside_policy_window"


class InvalidTransition(Conflict):
    code = "invalid_status_change"


class ManageLinkExpired(Forbidden):
    code = "manage_link_expired"


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
