"""Use cases for patients and other services: submit a screening, look a decision up."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from kapbook_eligibility.adapters import repository as repo
from kapbook_eligibility.adapters.encryption import FieldCipher
from kapbook_eligibility.domain import (
    CrisisResource,
    Decision,
    decide,
    load_questionnaire,
    signals_crisis,
    validate_answers,
)
from kapbook_eligibility.service_layer.errors import AnswersRejected, ScreeningNotFound
from kapbook_eligibility.service_layer.rule_sets import RuleSetService
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox

log = logging.getLogger(__name__)


def answers_context(screening_id: str) -> str:
    return f"screening:{screening_id}:answers"


def result_context(screening_id: str) -> str:
    return f"screening:{screening_id}:result"


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last second of ``day`` in the clinic's zone, as a UTC instant."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone).astimezone(timezone.utc)


@dataclass(frozen=True)
class SubmitScreening:
    """Command: a patient submits the questionnaire."""

    patient_name: str
    patient_email: str
    answers: Mapping[str, Any]


@dataclass(frozen=True)
class ScreeningResult:
    screening_id: str
    decision: Decision
    submitted_at: datetime
    valid_until: datetime
    # Shown to the patient at once on a crisis outcome; empty otherwise.
    crisis_resources: tuple[CrisisResource, ...]


@dataclass
class ScreeningService:
    sessions: sessionmaker[Session]
    outbox: Outbox
    cipher: FieldCipher
    rule_sets: RuleSetService
    crisis_resources: tuple[CrisisResource, ...]
    public_base_url: str
    zone: ZoneInfo
    clock: Clock = utc_now

    def submit(self, command: SubmitScreening) -> ScreeningResult:
        """Decide, store the answers encrypted, and publish the decision (and a crisis alert) in one transaction."""
        now = self.clock()
        today = now.astimezone(self.zone).date()
        questionnaire = load_questionnaire()
        # Validate before any write: a rejected request stores nothing.
        errors = validate_answers(questionnaire, command.answers, today=today)
        if errors:
            raise AnswersRejected("Some answers are missing or invalid; see errors.", errors)
        screening_id = str(uuid.uuid4())
        with self.sessions.begin() as session:
            decision = decide(command.answers, self.rule_sets.in_force(session), today, questionnaire=questionnaire)
            valid_until = end_of_day(decision.valid_until, self.zone)
            repo.insert_screening(session, self._row(screening_id, command, decision, now, valid_until))
            self._publish(session, screening_id, command.patient_email, decision, now, valid_until)
        log.info("screening decided", extra={"screening_id": screening_id, "outcome": decision.outcome.value})
        resources = self.crisis_resources if decision.is_crisis else ()
        return ScreeningResult(screening_id, decision, now, valid_until, resources)

    def would_be_crisis(self, answers: object) -> bool:
        """Whether ``answers`` would be decided a crisis (no database, nothing stored): help is never rate limited."""
        return signals_crisis(answers, self.clock().astimezone(self.zone).date())

    def decision_for(self, screening_id: str) -> dict[str, Any]:
        """What the booking service needs: the automated outcome, a clinician's decision if any, and validity.

        ``decided_at`` is when the answers were decided on, also after a review: validity counts from
        the answers, and the booking service's projection of the events carries the same instant.
        """
        with self.sessions() as session:
            row = repo.screening_by_id(session, screening_id)
            if row is None:
                raise ScreeningNotFound("There is no such screening.")
            review = repo.review_for(session, screening_id)
        decision = Decision.from_dict(self.cipher.open(result_context(screening_id), row["result_encrypted"]))
        return {
            "screening_id": row["id"],
            "patient_email": row["patient_email"],
            "outcome": decision.outcome.value,
            "clinician_decision": review["decision"] if review else None,
            "decided_at": row["submitted_at"],
            "valid_until": row["valid_until"],
        }

    def review_url(self, screening_id: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/staff/screenings/{screening_id}"

    def _row(
        self, screening_id: str, command: SubmitScreening, decision: Decision, now: datetime, valid_until: datetime
    ) -> dict[str, Any]:
        return {
            "id": screening_id,
            "patient_name": command.patient_name,
            "patient_email": command.patient_email,
            "questionnaire_version": decision.questionnaire_version,
            "ruleset_version": decision.ruleset_version,
            "answers_encrypted": self.cipher.seal(answers_context(screening_id), dict(command.answers)),
            "result_encrypted": self.cipher.seal(result_context(screening_id), decision.to_dict()),
            "status": repo.PENDING_REVIEW if decision.needs_clinician else repo.DECIDED,
            "priority": repo.URGENT if decision.is_crisis else repo.NORMAL,
            "submitted_at": now,
            "valid_until": valid_until,
        }

    def _publish(
        self, session: Session, screening_id: str, email: str, decision: Decision, now: datetime, valid_until: datetime
    ) -> None:
        # The alert goes first: the relay publishes in insertion order, and staff must hear of a crisis at once.
        if decision.is_crisis:
            self.outbox.add(
                session,
                EventType.SCREENING_CRISIS,
                {"screening_id": screening_id, "review_url": self.review_url(screening_id), "decided_at": now.isoformat()},
            )
        self.outbox.add(
            session,
            EventType.SCREENING_DECIDED,
            {
                "screening_id": screening_id,
                "patient_email": email,
                "outcome": decision.outcome.value,
                "ruleset_version": decision.ruleset_version,
                "decided_at": now.isoformat(),
                "valid_until": valid_until.isoformat(),
            },
        )
