"""What kind of refusal an error is; the edge (the Flask app) decides what that means in HTTP.

Every refusal has a stable ``code`` for programs and a ``message`` for people; ``Invalid``
may carry ``errors`` keyed by field. Messages never quote patients' details: they reach logs.
"""
from __future__ import annotations

from collections.abc import Mapping


class BookingError(Exception):
    """A request the booking service refuses on purpose."""

    code = "booking_refused"

    def __init__(self, message: str, *, code: str | None = None, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.errors = dict(errors) if errors else None


class NotFound(BookingError):
    """The thing asked for does not exist."""

    code = "not_found"


class Conflict(BookingError):
    """The request clashes with the current state (a taken time, a status, another writer)."""

    code = "conflict"


class Invalid(BookingError):
    """The request itself is not acceptable; ``errors`` says which fields, when it is about fields."""

    code = "validation_error"


class Forbidden(BookingError):
    """The requester may not do this (an expired link, a screening that does not allow it)."""

    code = "forbidden"


class Unavailable(BookingError):
    """Something the service needs is down for now; the client may retry after ``retry_after_seconds``."""

    code = "service_unavailable"
    retry_after_seconds: int | None = None
