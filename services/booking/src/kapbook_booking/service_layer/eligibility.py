"""The eligibility gate: treatment types need an eligible or clinician-approved screening.

The gate asks the eligibility service only for decisions the projection does not hold yet,
and never inside a transaction: the answer may take seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters.eligibility_client import (
    EligibilityAnswer,
    EligibilityClient,
    EligibilityDecision,
    EligibilityServiceDown,
)
from kapbook_booking.service_layer.errors import EligibilityUnavailable, NotEligible, ScreeningRequired
from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.messaging.consumer import EventHandler


def treatment_allowed(outcome: str, clinician_decision: str | None) -> bool:
    """Eligible (unless a clinician declined it) or approved by a clinician after review.

    The one place the eligibility service's outcome word is read: the projection keeps only
    this flag (no crisis, ineligible or needs_review next to the patient's email).
    """
    if clinician_decision is not None:
        return clinician_decision == "approved"
    return outcome == "eligible"


def decision_from(answer: EligibilityAnswer) -> EligibilityDecision:
    """The eligibility service's answer (with its outcome) as the flag the booking service keeps."""
    return EligibilityDecision(
        screening_id=answer.screening_id,
        patient_email=answer.patient_email,
        allowed=treatment_allowed(answer.outcome, answer.clinician_decision),
        decided_at=answer.decided_at,
        valid_until=answer.valid_until,
    )


def is_approved(decision: EligibilityDecision) -> bool:
    return decision.allowed


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
            answer = self.client.decision(screening_id)
        except EligibilityServiceDown:
            raise EligibilityUnavailable("Eligibility cannot be checked right now; please try again shortly.") from None
        return ScreeningLookup(decision_from(answer) if answer is not None else None, from_service=True)

    def check(self, decision: EligibilityDecision | None, patient_email: str, now: datetime) -> None:
        """Raise unless the decision allows this patient to book treatment now."""
        if decision is None or decision.patient_email.lower() != patient_email.lower():
            raise NotEligible("We could not find an eligibility screening for this email address.")
        if not is_approved(decision):
            raise NotEligible("This appointment can be booked once a clinician has approved your screening.")
        if decision.decided_at < now - timedelta(days=self.valid_days) or decision.valid_until < now:
            raise NotEligible(f"Your screening is older than {self.valid_days} days; please complete it again.")


# The projection of the eligibility service's decisions, fed by its events.
def record_decision(session: Session, envelope: Envelope) -> None:
    """Project an automated screening decision (idempotent); the event's outcome becomes the flag here."""
    data = envelope.data
    repo.remember_eligibility_decision(session, EligibilityDecision(
        screening_id=data["screening_id"],
        patient_email=data["patient_email"],
        allowed=treatment_allowed(data["outcome"], None),
        decided_at=datetime.fromisoformat(data["decided_at"]),
        valid_until=datetime.fromisoformat(data["valid_until"]),
    ))


def record_review(session: Session, envelope: Envelope) -> None:
    """A clinician approved or declined a screening."""
    data = envelope.data
    repo.record_clinician_review(
        session, data["screening_id"], data["patient_email"], approved=data["decision"] == "approved",
        reviewed_at=datetime.fromisoformat(data["reviewed_at"]), valid_until=datetime.fromisoformat(data["valid_until"]),
    )


def screening_event_handlers() -> dict[str, EventHandler]:
    """What the booking service consumes: the eligibility service's decisions (the bootstrap puts them on the container)."""
    return {EventType.SCREENING_DECIDED: record_decision, EventType.SCREENING_DECIDED_V1: record_decision,
            EventType.SCREENING_REVIEWED: record_review}
