"""Errors the use cases raise on purpose; the HTTP layer turns each into the shared error shape.

Messages never quote submitted answers or notes: they may end up in logs.
"""
from __future__ import annotations

from collections.abc import Mapping


class EligibilityError(Exception):
    """A request the eligibility service refuses; ``code`` is stable, the message is for people."""

    code = "eligibility_refused"
    status = 400

    def __init__(self, message: str, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors) if errors else None


class AnswersRejected(EligibilityError):
    """Answers failed the questionnaire's validation; ``errors`` is keyed by link id."""

    code, status = "validation_error", 422


class RuleSetRejected(EligibilityError):
    code, status = "validation_error", 422


class ScreeningNotFound(EligibilityError):
    code, status = "not_found", 404


class AlreadyReviewed(EligibilityError):
    code, status = "already_reviewed", 409


class ReviewNotNeeded(EligibilityError):
    code, status = "review_not_needed", 409


class RuleSetVersionTaken(EligibilityError):
    code, status = "rule_set_version_taken", 409


class ConcurrentChange(EligibilityError):
    code, status = "concurrent_change", 409


class CheckInLinkInvalid(EligibilityError):
    """A check-in link that is forged, altered or expired (the page says so; nothing is stored)."""

    code, status = "check_in_link_invalid", 400


class CheckInAlreadyDone(EligibilityError):
    code, status = "check_in_already_done", 409
