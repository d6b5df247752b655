"""Patient sessions and widget proofs as the other use cases read them (no dependency on bookings).

A browser session (the /my cookie) lives while it is used: 30 minutes idle. A widget proof is a
second kind of row in the same table, made only from a live browser session or from a hand-off
code (a third kind: the emailed link sends it back to the widget's page, usable once within 5
minutes); it lasts 30 minutes from its creation, never extended, and proves the email the link
was sent to, not anything typed in a form.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_booking.adapters import repository as repo
from kapbook_booking.domain.patients import (
    SESSION_IDLE,
    WIDGET_PROOF_LIFETIME,
    PatientProofInvalid,
    ScreeningStatus,
    normalise_email,
    screening_status,
    secret_hash,
    session_alive,
)

BROWSER, WIDGET, HANDOFF = "browser", "widget", "handoff"


def live_browser_session(session: Session, session_id: str, now: datetime) -> RowMapping | None:
    """The browser session behind a cookie, if it was used within the idle time (else it is deleted)."""
    key = secret_hash(session_id)
    row = repo.patient_session(session, key, BROWSER)
    if row is None:
        return None
    if not session_alive(row["last_seen_at"], now, SESSION_IDLE):
        repo.delete_patient_session(session, key)
        return None
    repo.touch_patient_session(session, key, now)
    return row


def proven_email(session: Session, proof: str, now: datetime) -> str:
    """The verified email a widget proof stands for; refused when unknown or older than its lifetime."""
    row = repo.patient_session(session, secret_hash(proof), WIDGET)
    if row is None or not session_alive(row["created_at"], now, WIDGET_PROOF_LIFETIME):
        raise PatientProofInvalid("Your sign-in from the email link has expired. Please ask for a new link.")
    return row["email"]


def proven_screening(session: Session, proof: str, typed_email: str, now: datetime, valid_days: int) -> ScreeningStatus:
    """The screening status of the patient a proof stands for; the booking's email must be that email."""
    email = proven_email(session, proof, now)
    if normalise_email(typed_email) != email:
        raise PatientProofInvalid("Please book with the email address you signed in with.")
    return screening_status(repo.eligibility_decisions_of(session, email), now, valid_days)


Command = TypeVar("Command")


def with_proven_screening(command: Command, reading: Callable[[], AbstractContextManager[Session]],
                          now: datetime, valid_days: int) -> Command:
    """A returning patient's proof (from the emailed link) finds their valid decision: no screening_id needed.

    For any booking command with ``patient_proof``, ``screening_id`` and ``patient``. The proof stands
    for the email the link was sent to; the booking's email must be that one, and the decision found
    is then checked by the gate like any other (same email, allowed, valid).
    """
    if not command.patient_proof or command.screening_id:
        return command
    with reading() as session:
        status = proven_screening(session, command.patient_proof, command.patient["email"], now, valid_days)
    return replace(command, screening_id=status.screening_id) if status.state == "valid" else command


def remember_patient(session: Session, patient: dict[str, Any], now: datetime) -> None:
    """A booking creates or refreshes the patient record of its (normalised) email."""
    details = {"name": patient["name"], "phone": patient.get("phone"), "timezone": patient["timezone"]}
    repo.save_patient(session, str(uuid.uuid4()), normalise_email(patient["email"]), details, now)
