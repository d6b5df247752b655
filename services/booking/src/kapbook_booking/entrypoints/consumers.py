"""Event handlers of the booking service: the eligibility decisions it honours."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters.eligibility_client import EligibilityDecision
from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.messaging.consumer import EventHandler


def record_decision(session: Session, envelope: Envelope) -> None:
    """Project an automated screening decision (idempotent)."""
    data = envelope.data
    repo.remember_eligibility_decision(session, EligibilityDecision(
        screening_id=data["screening_id"],
        patient_email=data["patient_email"],
        outcome=data["outcome"],
        clinician_decision=None,
        decided_at=datetime.fromisoformat(data["decided_at"]),
        valid_until=datetime.fromisoformat(data["valid_until"]),
    ))


def record_review(session: Session, envelope: Envelope) -> None:
    """A clinician approved or declined a screening."""
    data = envelope.data
    repo.record_clinician_review(
        session, data["screening_id"], data["patient_email"], data["decision"],
        reviewed_at=datetime.fromisoformat(data["reviewed_at"]), valid_until=datetime.fromisoformat(data["valid_until"]),
    )


def screening_event_handlers() -> dict[str, EventHandler]:
    """What the booking service consumes: the eligibility service's decisions (the bootstrap puts them on the container)."""
    return {EventType.SCREENING_DECIDED: record_decision, EventType.SCREENING_DECIDED_V1: record_decision,
            EventType.SCREENING_REVIEWED: record_review}
