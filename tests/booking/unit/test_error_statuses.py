"""Every refusal keeps the status and code clients already rely on; the app maps kinds to statuses once."""
from __future__ import annotations

import pytest
from flask import Flask

from kapbook_booking.domain import model
from kapbook_booking.entrypoints.errors import booking_error_response, http_status
from kapbook_booking.service_layer import errors


@pytest.mark.parametrize(
    "error, status, code",
    [
        (model.SlotUnavailable, 409, "slot_unavailable"),
        (model.UnknownAppointmentType, 422, "unknown_appointment_type"),
        (model.OutsideBookingWindow, 422, "outside_booking_window"),
        (model.DriverConfirmationRequired, 422, "driver_confirmation_required"),
        (model.IdempotencyKeyReused, 422, "idempotency_key_reused"),
        (model.InvalidAvailabilityQuery, 422, "invalid_availability_query"),
        (model.HoldNotFound, 409, "hold_not_found"),
        (model.BookingNotFound, 404, "not_found"),
        (model.OutsidePolicyWindow, 409, "outside_policy_window"),
        (model.InvalidTransition, 409, "invalid_status_change"),
        (model.ManageLinkExpired, 403, "manage_link_expired"),
        (errors.ScreeningRequired, 422, "screening_required"),
        (errors.NotEligible, 403, "not_eligible"),
        (errors.EligibilityUnavailable, 503, "eligibility_unavailable"),
        (errors.ConcurrentChange, 409, "concurrent_change"),
        (errors.NotFound, 404, "not_found"),
        (errors.Conflict, 409, "conflict"),
        (errors.Invalid, 422, "validation_error"),
    ],
)
def test_each_refusal_answers_with_its_status_and_code(error, status, code):
    refusal = error("Refused.")
    assert (http_status(refusal), refusal.code) == (status, code)


def test_the_response_has_the_shared_shape_with_field_errors_and_retry_after():
    with Flask(__name__).app_context():
        invalid = booking_error_response(errors.Invalid("Bad.", code="in_use", errors={"name": ["Taken."]}))
        down = booking_error_response(errors.EligibilityUnavailable("Later."))
    assert invalid.status_code == 422
    assert invalid.get_json() == {"code": "in_use", "message": "Bad.", "errors": {"name": ["Taken."]}}
    assert down.status_code == 503 and down.headers["Retry-After"] == "30" and "errors" not in down.get_json()
