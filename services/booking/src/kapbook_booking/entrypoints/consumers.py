"""Event handlers of the booking service: the eligibility decisions it honours."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables as t
from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.messaging.consumer import EventHandler


def record_decision(session: Session, envelope: Envelope) -> None:
    """Project an automated screening decision (idempotent)."""
    data = envelope.data
    exists = session.execute(
        select(t.eligibility_decisions.c.screening_id).where(t.eligibility_decisions.c.screening_id == data["screening_id"])
    ).first()
    if exists:
        return
    session.execute(
        t.eligibility_decisions.insert().values(
            screening_id=data["screening_id"],
            patient_email=data["patient_email"].lower(),
            outcome=data["outcome"],
            decided_at=datetime.fromisoformat(data["decided_at"]),
            valid_until=datetime.fromisoformat(data["valid_until"]),
        )
    )


def record_review(session: Session, envelope: Envelope) -> None:
    """A clinician approved or declined a screening; upsert so order of arrival does not matter."""
    data = envelope.data
    values = {
        "clinician_decision": data["decision"],
        "valid_until": datetime.fromisoformat(data["valid_until"]),
    }
    updated = session.execute(
        update(t.eligibility_decisions).where(t.eligibility_decisions.c.screening_id == data["screening_id"]).values(**values)
    )
    if updated.rowcount == 0:
        session.execute(
            t.eligibility_decisions.insert().values(
                screening_id=data["screening_id"],
                patient_email=data["patient_email"].lower(),
                outcome="needs_review",
                decided_at=datetime.fromisoformat(data["reviewed_at"]),
                **values,
            )
        )


def screening_event_handlers() -> dict[str, EventHandler]:
    """What the booking service consumes: the eligibility service's decisions (the bootstrap puts them on the container)."""
    return {EventType.SCREENING_DECIDED: record_decision, EventType.SCREENING_DECIDED_V1: record_decision,
            EventType.SCREENING_REVIEWED: record_review}
