"""The eligibility gate: treatment types need an eligible or clinician-approved screening."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables as t
from kapbook_booking.adapters.eligibility_client import EligibilityClient, EligibilityDecision, EligibilityServiceDown
from kapbook_booking.domain.model import EligibilityUnavailable, NotEligible, ScreeningRequired


def is_approved(decision: EligibilityDecision) -> bool:
    """Eligible (unless a clinician declined it) or approved by a clinician after review."""
    if decision.clinician_decision is not None:
        return decision.clinician_decision == "approved"
    return decision.outcome == "eligible"


@dataclass
class EligibilityGate:
    client: EligibilityClient
    valid_days: int

    def check(self, session: Session, screening_id: str | None, patient_email: str, now: datetime) -> None:
        """Raise unless the screening allows this patient to book treatment now."""
        if not screening_id:
            raise ScreeningRequired("This appointment needs a completed eligibility screening (screening_id).")
        decision = self._known(session, screening_id) or self._ask(session, screening_id)
        if decision is None or decision.patient_email.lower() != patient_email.lower():
            raise NotEligible("We could not find an eligibility screening for this email address.")
        if not is_approved(decision):
            raise NotEligible("This appointment can be booked once a clinician has approved your screening.")
        if decision.decided_at < now - timedelta(days=self.valid_days) or decision.valid_until < now:
            raise NotEligible(f"Your screening is older than {self.valid_days} days; please complete it again.")

    def _known(self, session: Session, screening_id: str) -> EligibilityDecision | None:
        row = session.execute(
            select(t.eligibility_decisions).where(t.eligibility_decisions.c.screening_id == screening_id)
        ).mappings().first()
        return EligibilityDecision(**row) if row else None

    def _ask(self, session: Session, screening_id: str) -> EligibilityDecision | None:
        try:
            decision = self.client.decision(screening_id)
        except EligibilityServiceDown:
            raise EligibilityUnavailable("Eligibility cannot be checked right now; please try again shortly.") from None
        if decision is not None:
            try:
                with session.begin_nested():
                    values = vars(decision) | {"patient_email": decision.patient_email.lower()}
                    session.execute(t.eligibility_decisions.insert().values(**values))
            except IntegrityError:
                pass  # the screening event arrived meanwhile; the projection has it already
        return decision
