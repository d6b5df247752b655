"""Use cases for clinicians: the review queue, opening a screening (audited), deciding on it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from kapbook_eligibility.adapters import repository as repo
from kapbook_eligibility.adapters.encryption import FieldCipher
from kapbook_eligibility.domain import Decision
from kapbook_eligibility.service_layer.errors import AlreadyReviewed, ReviewNotNeeded, ScreeningNotFound
from kapbook_eligibility.service_layer.screenings import answers_context, result_context
from kapbook_platform.clock import Clock
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit, record_read
from kapbook_platform.staff.principal import StaffPrincipal

log = logging.getLogger(__name__)
QueueStatus = Literal["pending", "reviewed"]
REVIEWED_LIST_LIMIT = 100
OPENED_ACTION = "screening.opened"
REVIEWED_ACTION = "screening.reviewed"


def note_context(screening_id: str) -> str:
    return f"review:{screening_id}:note"


def audit_target(screening_id: str) -> str:
    return f"screening:{screening_id}"


@dataclass(frozen=True)
class ReviewScreening:
    """Command: a clinician approves or declines a screening that needs review."""

    screening_id: str
    decision: Literal["approved", "declined"]
    note: str
    reviewer: StaffPrincipal


@dataclass
class ReviewService:
    sessions: sessionmaker[Session]
    outbox: Outbox
    cipher: FieldCipher
    audit_log: Table
    clock: Clock

    def queue(self, status: QueueStatus, viewer: StaffPrincipal, ip: str | None) -> list[dict[str, Any]]:
        """Screenings waiting for review (crises first), or the latest reviewed ones; the read is audited."""
        with self.sessions.begin() as session:
            if status == "pending":
                rows = repo.pending_screenings(session)
            else:
                rows = repo.reviewed_screenings(session, REVIEWED_LIST_LIMIT)
            record_read(session, self.audit_log, viewer.staff_id, "review_queue", status, ip, _who(viewer))
        return [self._summary(row) for row in rows]

    def open(self, screening_id: str, viewer: StaffPrincipal, ip: str | None = None) -> dict[str, Any]:
        """A screening with its decrypted answers, scores and review; the opening is written to the audit log."""
        with self.sessions.begin() as session:
            row = repo.screening_by_id(session, screening_id)
            if row is None:
                raise ScreeningNotFound("There is no such screening.")
            review = repo.review_for(session, screening_id)
            # In the same transaction as the read: no answers leave without their audit row.
            record_audit(session, self.audit_log, viewer.staff_id, OPENED_ACTION, audit_target(screening_id),
                         _who(viewer) | {"ip": ip})
            return self._detail(row, review)

    def review(self, command: ReviewScreening) -> dict[str, Any]:
        """Record the clinician's decision (note encrypted) and publish it."""
        now = self.clock()
        screening_id = command.screening_id
        with self.sessions.begin() as session:
            # The status check and the change are one statement, so two clinicians cannot both decide.
            if not repo.mark_reviewed(session, screening_id):
                self._refuse(session, screening_id)
            row = repo.screening_by_id(session, screening_id)
            repo.insert_review(session, self._review_row(command, now))
            self.outbox.add(
                session,
                EventType.SCREENING_REVIEWED,
                {
                    "screening_id": screening_id,
                    "patient_email": row["patient_email"],
                    "decision": command.decision,
                    "reviewed_at": now.isoformat(),
                    "valid_until": row["valid_until"].isoformat(),
                },
            )
            record_audit(session, self.audit_log, command.reviewer.staff_id, REVIEWED_ACTION, audit_target(screening_id),
                         _who(command.reviewer) | {"decision": command.decision})
        log.info("screening reviewed", extra={"screening_id": screening_id, "decision": command.decision})
        return {
            "screening_id": screening_id,
            "decision": command.decision,
            "reviewer_name": command.reviewer.name,
            "reviewed_at": now,
            "valid_until": row["valid_until"],
        }

    def _refuse(self, session: Session, screening_id: str) -> None:
        row = repo.screening_by_id(session, screening_id)
        if row is None:
            raise ScreeningNotFound("There is no such screening.")
        if row["status"] == repo.REVIEWED:
            raise AlreadyReviewed("This screening has been reviewed already; a decision is final.")
        raise ReviewNotNeeded("This screening was decided without review; there is nothing to approve or decline.")

    def _review_row(self, command: ReviewScreening, now: datetime) -> dict[str, Any]:
        return {
            "screening_id": command.screening_id,
            "decision": command.decision,
            "note_encrypted": self.cipher.seal(note_context(command.screening_id), command.note),
            "reviewer_id": command.reviewer.staff_id,
            "reviewer_name": command.reviewer.name,
            "reviewed_at": now,
        }

    def _detail(self, row: RowMapping, review: RowMapping | None) -> dict[str, Any]:
        screening_id = row["id"]
        decision = self._decision(row)
        return self._summary(row, decision) | {
            "reasons": [reason.to_dict() for reason in decision.reasons],
            "scores": decision.scores.to_dict(),
            "treatment_resistant": decision.treatment_resistant,
            "failed_trials": decision.failed_trials,
            "ruleset_version": row["ruleset_version"],
            "questionnaire_version": row["questionnaire_version"],
            "answers": self.cipher.open(answers_context(screening_id), row["answers_encrypted"]),
            "review": self._review_view(review),
        }

    def _decision(self, row: RowMapping) -> Decision:
        """The outcome, reasons and scores: stored only in the encrypted result."""
        return Decision.from_dict(self.cipher.open(result_context(row["id"]), row["result_encrypted"]))

    def _summary(self, row: RowMapping, decision: Decision | None = None) -> dict[str, Any]:
        return _summary(row, decision or self._decision(row))

    def _review_view(self, review: RowMapping | None) -> dict[str, Any] | None:
        if review is None:
            return None
        note = None
        if review["note_encrypted"] is not None:
            note = self.cipher.open(note_context(review["screening_id"]), review["note_encrypted"])
        return {
            "decision": review["decision"],
            "note": note,
            "reviewer_name": review["reviewer_name"],
            "reviewed_at": review["reviewed_at"],
        }


def _who(staff: StaffPrincipal) -> dict[str, str]:
    return {"staff_name": staff.name, "role": staff.role, "credential_id": staff.credential_id}


def _summary(row: RowMapping, decision: Decision) -> dict[str, Any]:
    summary = {
        "id": row["id"],
        "patient": {"name": row["patient_name"], "email": row["patient_email"]},
        "outcome": decision.outcome.value,
        "reason_codes": [code.value for code in decision.reason_codes],
        "status": row["status"],
        "submitted_at": row["submitted_at"],
        "valid_until": row["valid_until"],
    }
    if "decision" in row:
        summary["review"] = {
            "decision": row["decision"],
            "reviewer_name": row["reviewer_name"],
            "reviewed_at": row["reviewed_at"],
        }
    return summary
