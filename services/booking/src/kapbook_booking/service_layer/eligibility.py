"""The eligibility gate: treatment types need an eligible or clinician-approved screening.

The gate asks the eligibility service only for decisions the projection does not hold yet,
and never inside a transaction: the answer may take seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kapbook_booking.adapters.eligibility_client import EligibilityClient, EligibilityDecision, EligibilityServiceDown
from kapbook_booking.service_layer.errors import EligibilityUnavailable, NotEligible, ScreeningRequired


def is_approved(decision: EligibilityDecision) -> bool:
    """Eligible (unless a clinician declined it) or approved by a clinician after review."""
    if decision.clinician_decision is not None:
        return decision.clinician_decision == "approved"
    return decision.outcome == "eligible"


@dataclass(frozen=True)
class ScreeningLookup:
    """A screening's decision as found before booking; ``from_service`` when the projection lacked it."""

    decision: EligibilityDecision | None
    from_service: bool = False


NOT_NEEDED = ScreeningLookup(None)


@dataclass
class EligibilityGate:
    client: EligibilityClient
    valid_days: int

    @staticmethod
    def require_screening(screening_id: str | None) -> None:
        if not screening_id:
            raise ScreeningRequired("This appointment needs a completed eligibility screening (screening_id).")

    def ask(self, screening_id: str) -> ScreeningLookup:
        """Ask the eligibility service over HTTP; call it with no transaction open."""
        try:
            return ScreeningLookup(self.client.decision(screening_id), from_service=True)
        except EligibilityServiceDown:
            raise EligibilityUnavailable("Eligibility cannot be checked right now; please try again shortly.") from None

    def check(self, decision: EligibilityDecision | None, patient_email: str, now: datetime) -> None:
        """Raise unless the decision allows this patient to book treatment now."""
        if decision is None or decision.patient_email.lower() != patient_email.lower():
            raise NotEligible("We could not find an eligibility screening for this email address.")
        if not is_approved(decision):
            raise NotEligible("This appointment can be booked once a clinician has approved your screening.")
        if decision.decided_at < now - timedelta(days=self.valid_days) or decision.valid_until < now:
            raise NotEligible(f"Your screening is older than {self.valid_days} days; please complete it again.")
