"""Errors the use cases raise on purpose; the Flask app maps each kind to a status once.

The kinds (``NotFound``, ``Conflict``, ``Invalid``, ``Forbidden``, ``Unavailable``) live in
the domain, which raises them too; this module adds the refusals only use cases make.
"""
from __future__ import annotations

from kapbook_booking.domain.errors import BookingError, Conflict, Forbidden, Invalid, NotFound, Unavailable

__all__ = [
    "BookingError", "Conflict", "Forbidden", "Invalid", "NotFound", "Unavailable",
    "ConcurrentChange", "ScreeningRequired", "NotEligible", "EligibilityUnavailable",
]


class ConcurrentChange(Conflict):
    """Another writer changed the same records at the same moment; reloading and retrying helps."""

    code = "concurrent_change"


class ScreeningRequired(Invalid):
    code = "screening_required"


class NotEligible(Forbidden):
    code = "not_eligible"


class EligibilityUnavailable(Unavailable):
    """The eligibility service could not be asked; the client should retry shortly."""

    code = "eligibility_unavailable"
    retry_after_seconds = 30
