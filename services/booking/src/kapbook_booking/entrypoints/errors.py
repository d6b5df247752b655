"""The one place booking refusals become HTTP: a status per kind, the shared JSON error shape."""
from __future__ import annotations

from flask import Flask

from kapbook_booking.service_layer.errors import BookingError, Conflict, Forbidden, Invalid, NotFound, Unavailable
from kapbook_platform.web.errors import error_response

STATUS_BY_KIND: tuple[tuple[type[BookingError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Invalid, 422),
    (Forbidden, 403),
    (Unavailable, 503),
)
DEFAULT_STATUS = 422


def http_status(error: BookingError) -> int:
    """The status a refusal answers with (pages use it as well as the JSON API)."""
    return next((status for kind, status in STATUS_BY_KIND if isinstance(error, kind)), DEFAULT_STATUS)


def booking_error_response(error: BookingError):
    retry_after = getattr(error, "retry_after_seconds", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return error_response(http_status(error), error.code, error.message, error.errors, headers=headers)


def register_booking_errors(app: Flask) -> None:
    app.register_error_handler(BookingError, booking_error_response)
