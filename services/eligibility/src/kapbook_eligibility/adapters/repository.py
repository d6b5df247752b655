"""Queries on the eligibility service's own tables; every function runs in the caller's session."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_eligibility.adapters.tables import check_ins, reviews, rule_sets, screenings

# Screening statuses: final without review, waiting for a clinician, reviewed.
DECIDED = "decided"
PENDING_REVIEW = "pending_review"
REVIEWED = "reviewed"

# Review-queue priorities: workflow state, not clinical data (the outcome stays in the encrypted result).
URGENT = 0
NORMAL = 1


# --- rule sets -------------------------------------------------------------------------


def active_rule_set(session: Session) -> RowMapping | None:
    return session.execute(select(rule_sets).where(rule_sets.c.active.is_(True))).mappings().first()


def rule_set_exists(session: Session, version: str) -> bool:
    return session.execute(select(rule_sets.c.version).where(rule_sets.c.version == version)).first() is not None


def all_rule_sets(session: Session) -> list[RowMapping]:
    query = select(rule_sets).order_by(rule_sets.c.created_at.desc(), rule_sets.c.version.desc())
    return list(session.execute(query).mappings())


def insert_active_rule_set(session: Session, row: dict[str, Any]) -> None:
    """Store a rule set as the one in force, retiring the previous one."""
    session.execute(update(rule_sets).where(rule_sets.c.active.is_(True)).values(active=False))
    session.execute(rule_sets.insert().values(**row, active=True))


# --- screenings --------------------------------------------------------------------------


def insert_screening(session: Session, row: dict[str, Any]) -> None:
    session.execute(screenings.insert().values(**row))


def screening_by_id(session: Session, screening_id: str) -> RowMapping | None:
    return session.execute(select(screenings).where(screenings.c.id == screening_id)).mappings().first()


def review_for(session: Session, screening_id: str) -> RowMapping | None:
    return session.execute(select(reviews).where(reviews.c.screening_id == screening_id)).mappings().first()


def pending_screenings(session: Session) -> list[RowMapping]:
    """Screenings waiting for a clinician: urgent ones (crises) first, then the oldest first."""
    query = (
        select(*_summary_columns())
        .where(screenings.c.status == PENDING_REVIEW)
        .order_by(screenings.c.priority, screenings.c.submitted_at, screenings.c.id)
    )
    return list(session.execute(query).mappings())


def reviewed_screenings(session: Session, limit: int) -> list[RowMapping]:
    """The most recently reviewed screenings, newest review first."""
    query = (
        select(*_summary_columns(), reviews.c.decision, reviews.c.reviewed_at, reviews.c.reviewer_name)
        .join(reviews, reviews.c.screening_id == screenings.c.id)
        .where(screenings.c.status == REVIEWED)
        .order_by(reviews.c.reviewed_at.desc(), screenings.c.id)
        .limit(limit)
    )
    return list(session.execute(query).mappings())


def _summary_columns() -> tuple:
    # Never the answers; the encrypted result is read for the outcome and reason codes only
    # (the service layer opens it and shows no scores in a list).
    c = screenings.c
    return (c.id, c.patient_name, c.patient_email, c.result_encrypted, c.status, c.submitted_at, c.valid_until)


def mark_reviewed(session: Session, screening_id: str) -> bool:
    """Move a pending screening to reviewed; False when it was not pending (the check and the write are one)."""
    result = session.execute(
        update(screenings)
        .where(screenings.c.id == screening_id, screenings.c.status == PENDING_REVIEW)
        .values(status=REVIEWED)
    )
    return result.rowcount == 1


def insert_review(session: Session, row: dict[str, Any]) -> None:
    session.execute(reviews.insert().values(**row))


# --- key rotation --------------------------------------------------------------------------


def screening_ciphertexts(session: Session, after_id: str, limit: int) -> list[RowMapping]:
    query = (
        select(screenings.c.id, screenings.c.answers_encrypted, screenings.c.result_encrypted)
        .where(screenings.c.id > after_id)
        .order_by(screenings.c.id)
        .limit(limit)
    )
    return list(session.execute(query).mappings())


def review_ciphertexts(session: Session, after_id: int, limit: int) -> list[RowMapping]:
    query = (
        select(reviews.c.id, reviews.c.screening_id, reviews.c.note_encrypted)
        .where(reviews.c.id > after_id, reviews.c.note_encrypted.is_not(None))
        .order_by(reviews.c.id)
        .limit(limit)
    )
    return list(session.execute(query).mappings())


def update_screening_ciphertexts(session: Session, screening_id: str, answers: bytes, result: bytes) -> None:
    session.execute(
        update(screenings).where(screenings.c.id == screening_id).values(answers_encrypted=answers, result_encrypted=result)
    )


def update_review_note(session: Session, review_id: int, note: bytes) -> None:
    session.execute(update(reviews).where(reviews.c.id == review_id).values(note_encrypted=note))



# --- check-ins ------------------------------------------------------------------------------


def check_in_exists(session: Session, booking_id: str, occasion: str) -> bool:
    query = select(check_ins.c.id).where(check_ins.c.booking_id == booking_id, check_ins.c.occasion == occasion)
    return session.execute(query).first() is not None


def insert_check_in(session: Session, row: dict[str, Any]) -> None:
    session.execute(check_ins.insert().values(**row))


def check_in_by_id(session: Session, check_in_id: str) -> RowMapping | None:
    return session.execute(select(check_ins).where(check_ins.c.id == check_in_id)).mappings().first()


def patient_email_of(session: Session, record_id: str) -> str | None:
    """The patient of a screening or a check-in, by its id."""
    for table in (screenings, check_ins):
        email = session.execute(select(table.c.patient_email).where(table.c.id == record_id)).scalar()
        if email is not None:
            return email
    return None


def screenings_of(session: Session, email: str) -> list[RowMapping]:
    query = (select(screenings.c.id, screenings.c.patient_name, screenings.c.result_encrypted, screenings.c.submitted_at)
             .where(screenings.c.patient_email == email).order_by(screenings.c.submitted_at, screenings.c.id))
    return list(session.execute(query).mappings())


def check_ins_of(session: Session, email: str) -> list[RowMapping]:
    """A patient's check-ins, oldest first: never the answers (the encrypted result is opened for the scores)."""
    c = check_ins.c
    query = (select(c.id, c.booking_id, c.occasion, c.patient_name, c.session_start, c.result_encrypted, c.status,
                    c.submitted_at, c.reviewed_at, c.reviewer_name)
             .where(c.patient_email == email).order_by(c.submitted_at, c.id))
    return list(session.execute(query).mappings())


def pending_check_ins(session: Session) -> list[RowMapping]:
    """Check-ins whose alert waits for a clinician's follow-up, oldest first (ids, names and times only)."""
    c = check_ins.c
    query = (select(c.id, c.patient_name, c.patient_email, c.submitted_at)
             .where(c.status == PENDING_REVIEW).order_by(c.submitted_at, c.id))
    return list(session.execute(query).mappings())


def mark_check_in_reviewed(session: Session, check_in_id: str, reviewer_name: str, at: Any) -> bool:
    result = session.execute(
        update(check_ins).where(check_ins.c.id == check_in_id, check_ins.c.status == PENDING_REVIEW)
        .values(status=REVIEWED, reviewed_at=at, reviewer_name=reviewer_name)
    )
    return result.rowcount == 1


def check_in_ciphertexts(session: Session, after_id: str, limit: int) -> list[RowMapping]:
    query = (select(check_ins.c.id, check_ins.c.answers_encrypted, check_ins.c.result_encrypted)
             .where(check_ins.c.id > after_id).order_by(check_ins.c.id).limit(limit))
    return list(session.execute(query).mappings())


def update_check_in_ciphertexts(session: Session, check_in_id: str, answers: bytes, result: bytes) -> None:
    session.execute(
        update(check_ins).where(check_ins.c.id == check_in_id).values(answers_encrypted=answers, result_encrypted=result)
    )
