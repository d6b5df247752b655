"""Reads and writes of the booking tables; rows in, domain objects out."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables as t
from kapbook_booking.adapters.eligibility_client import EligibilityDecision
from kapbook_booking.domain.model import AppointmentType, SlotUnavailable


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def appointment_type_from_row(row: RowMapping) -> AppointmentType:
    return AppointmentType(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        category=row["category"],
        duration=_minutes(row["duration_minutes"]),
        buffer_before=_minutes(row["buffer_before_minutes"]),
        buffer_after=_minutes(row["buffer_after_minutes"]),
        min_notice=_minutes(row["min_notice_minutes"]),
        horizon=timedelta(days=row["horizon_days"]),
        slot_step=_minutes(row["slot_step_minutes"]),
        modality=row["modality"],
        room_kind=row["room_kind"],
        requires_eligibility=row["requires_eligibility"],
        requires_driver=row["requires_driver"],
        cancel_notice=timedelta(hours=row["cancel_notice_hours"]),
        reschedule_notice=timedelta(hours=row["reschedule_notice_hours"]),
    )


def appointment_type_by_code(session: Session, code: str) -> AppointmentType | None:
    row = session.execute(
        select(t.appointment_types).where(t.appointment_types.c.code == code, t.appointment_types.c.active.is_(True))
    ).mappings().first()
    return appointment_type_from_row(row) if row else None


def appointment_type_by_id(session: Session, type_id: str) -> AppointmentType:
    row = session.execute(select(t.appointment_types).where(t.appointment_types.c.id == type_id)).mappings().one()
    return appointment_type_from_row(row)


def clinician_ids_for_type(session: Session, type_id: str) -> list[str]:
    link = t.clinician_appointment_types
    query = (
        select(link.c.clinician_id)
        .join(t.clinicians, t.clinicians.c.id == link.c.clinician_id)
        .where(link.c.appointment_type_id == type_id, t.clinicians.c.active.is_(True))
        .order_by(link.c.clinician_id)
    )
    return list(session.execute(query).scalars())


def delete_expired_holds(session: Session, now: datetime) -> None:
    """Expired holds free their slot: removed before anything is inserted."""
    session.execute(delete(t.bookings).where(t.bookings.c.status == "held", t.bookings.c.hold_expires_at <= now))


def lock_resources(session: Session, clinician_id: str, room_id: str | None) -> None:
    """On PostgreSQL, serialise writers of the same clinician or room, always in the same order.

    Two inserts that conflict in one exclusion constraint and not the other would otherwise each
    wait for the other's uncommitted row: a deadlock. SQLite needs nothing (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(k for k in (f"clinician:{clinician_id}", room_id and f"room:{room_id}") if k):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def insert_booking(session: Session, values: dict[str, Any]) -> None:
    """Insert a booking; the database refuses overlaps (exclusion constraint or trigger)."""
    lock_resources(session, values["clinician_id"], values.get("room_id"))
    try:
        with session.begin_nested():
            session.execute(t.bookings.insert().values(**values))
    except IntegrityError as error:
        if is_overlap(error):
            raise SlotUnavailable("That time is no longer available. Please choose another slot.") from None
        raise


def is_overlap(error: IntegrityError) -> bool:
    text = str(error.orig)
    return "booking_overlap" in text or "ex_bookings_" in text or getattr(error.orig, "sqlstate", None) == "23P01"


def booking_details(session: Session, booking_id: str) -> RowMapping | None:
    """A booking with the names of its type, clinician and location."""
    query = (
        select(
            t.bookings,
            t.appointment_types.c.code.label("type_code"),
            t.appointment_types.c.name.label("type_name"),
            t.appointment_types.c.category.label("type_category"),
            t.appointment_types.c.modality.label("type_modality"),
            t.appointment_types.c.cancel_notice_hours,
            t.appointment_types.c.reschedule_notice_hours,
            t.clinicians.c.name.label("clinician_name"),
            t.locations.c.name.label("location_name"),
            t.locations.c.timezone.label("location_timezone"),
            t.locations.c.address.label("location_address"),
        )
        .join(t.appointment_types, t.appointment_types.c.id == t.bookings.c.appointment_type_id)
        .join(t.clinicians, t.clinicians.c.id == t.bookings.c.clinician_id)
        .join(t.locations, t.locations.c.id == t.bookings.c.location_id)
        .where(t.bookings.c.id == booking_id)
    )
    return session.execute(query).mappings().first()


def find_idempotent(session: Session, scope: str, key: str) -> RowMapping | None:
    query = select(t.idempotency_keys).where(t.idempotency_keys.c.scope == scope, t.idempotency_keys.c.key == key)
    return session.execute(query).mappings().first()


def remember_idempotent(session: Session, scope: str, key: str, request_sha256: str, booking_id: str, now: datetime) -> None:
    session.execute(
        t.idempotency_keys.insert().values(
            scope=scope, key=key, request_sha256=request_sha256, booking_id=booking_id, created_at=now
        )
    )


# --- the eligibility-decision projection -------------------------------------------------------


def eligibility_decision(session: Session, screening_id: str) -> EligibilityDecision | None:
    """The decision the projection holds for a screening, if any."""
    decisions = t.eligibility_decisions
    row = session.execute(select(decisions).where(decisions.c.screening_id == screening_id)).mappings().first()
    return EligibilityDecision(**row) if row else None


def remember_eligibility_decision(session: Session, decision: EligibilityDecision) -> bool:
    """Project a screening decision unless one is there already; True if it was inserted.

    The one way a decision enters the projection, whether it came as an event or as the
    eligibility service's answer to a lookup. The first to arrive wins: a later copy of the same
    decision changes nothing, and a clinician's review only ever arrives as an event (an update).
    """
    if eligibility_decision(session, decision.screening_id) is not None:
        return False
    values = vars(decision) | {"patient_email": decision.patient_email.lower()}
    try:
        with session.begin_nested():
            session.execute(t.eligibility_decisions.insert().values(**values))
    except IntegrityError:
        return False  # another writer projected it between our read and our insert
    return True


def record_clinician_review(
    session: Session, screening_id: str, patient_email: str, decision: str, reviewed_at: datetime, valid_until: datetime
) -> None:
    """A clinician approved or declined a screening; an upsert, so the order of arrival does not matter."""
    decisions = t.eligibility_decisions
    values = {"clinician_decision": decision, "valid_until": valid_until}
    updated = session.execute(update(decisions).where(decisions.c.screening_id == screening_id).values(**values))
    if updated.rowcount == 0:
        session.execute(decisions.insert().values(
            screening_id=screening_id, patient_email=patient_email.lower(), outcome="needs_review",
            decided_at=reviewed_at, **values,
        ))
