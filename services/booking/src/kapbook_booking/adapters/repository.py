"""Reads and writes of the booking tables; rows in, domain objects out."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Table, delete, exists, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables
from kapbook_booking.adapters.schedules import LONGEST_BLOCK
from kapbook_booking.adapters.eligibility_client import EligibilityDecision
from kapbook_booking.domain.model import AppointmentType, SlotUnavailable
from kapbook_booking.domain.series import Protocol


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
        select(tables.appointment_types).where(tables.appointment_types.c.code == code, tables.appointment_types.c.active.is_(True))
    ).mappings().first()
    return appointment_type_from_row(row) if row else None


def appointment_type_by_id(session: Session, type_id: str) -> AppointmentType:
    row = session.execute(select(tables.appointment_types).where(tables.appointment_types.c.id == type_id)).mappings().one()
    return appointment_type_from_row(row)


def clinician_ids_for_type(session: Session, type_id: str) -> list[str]:
    link = tables.clinician_appointment_types
    query = (
        select(link.c.clinician_id)
        .join(tables.clinicians, tables.clinicians.c.id == link.c.clinician_id)
        .where(link.c.appointment_type_id == type_id, tables.clinicians.c.active.is_(True))
        .order_by(link.c.clinician_id)
    )
    return list(session.execute(query).scalars())


def delete_expired_holds(session: Session, now: datetime) -> None:
    """Expired holds free their slot: removed before anything is inserted."""
    session.execute(delete(tables.bookings).where(tables.bookings.c.status == "held", tables.bookings.c.hold_expires_at <= now))


def lock_resources(session: Session, clinician_id: str, room_id: str | None) -> None:
    lock_all_resources(session, [clinician_id], [room_id] if room_id else [])


def lock_all_resources(session: Session, clinician_ids: Iterable[str], room_ids: Iterable[str]) -> None:
    """On PostgreSQL, serialise writers of the same clinicians or rooms, always in the same order.

    A series takes the locks of all its sessions at once, before its first insert.

    Two inserts that conflict in one exclusion constraint and not the other would otherwise each
    wait for the other's uncommitted row: a deadlock. SQLite needs nothing (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({f"clinician:{c}" for c in clinician_ids} | {f"room:{r}" for r in room_ids})
    if keys:
        # One round trip for all: PostgreSQL calls a volatile function in the select list row by row
        # after the ORDER BY, so the locks are taken in the array's (sorted) order.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(k.key, 0)) "
                             "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS k(key, n) ORDER BY k.n"),
                        {"keys": keys})


SLOT_TAKEN = "That time is no longer available. Please choose another slot."


def insert_booking(session: Session, values: dict[str, Any]) -> None:
    """Insert a booking; the database refuses overlaps (exclusion constraint or trigger)."""
    if values["blocked_end"] - values["blocked_start"] > LONGEST_BLOCK:
        raise ValueError("a booking may block at most LONGEST_BLOCK: the availability reads rely on it")
    lock_resources(session, values["clinician_id"], values.get("room_id"))
    if session.get_bind().dialect.name == "postgresql":
        # The exclusion constraints are ON CONFLICT's arbiters: an overlap inserts nothing and, unlike
        # an error, leaves the transaction usable, without a savepoint's two extra round trips.
        inserted = session.execute(postgresql_insert(tables.bookings).values(**values).on_conflict_do_nothing()
                                   .returning(tables.bookings.c.id)).first()
        if inserted is None:
            raise SlotUnavailable(SLOT_TAKEN)
        return
    try:
        with session.begin_nested():
            session.execute(tables.bookings.insert().values(**values))
    except IntegrityError as error:
        if is_overlap(error):
            raise SlotUnavailable(SLOT_TAKEN) from None
        raise


def is_overlap(error: IntegrityError) -> bool:
    text = str(error.orig)
    return "booking_overlap" in text or "ex_bookings_" in text or getattr(error.orig, "sqlstate", None) == "23P01"


def _details_query():
    return (
        select(
            tables.bookings,
            tables.appointment_types.c.code.label("type_code"),
            tables.appointment_types.c.name.label("type_name"),
            tables.appointment_types.c.category.label("type_category"),
            tables.appointment_types.c.modality.label("type_modality"),
            tables.appointment_types.c.cancel_notice_hours,
            tables.appointment_types.c.reschedule_notice_hours,
            tables.clinicians.c.name.label("clinician_name"),
            tables.locations.c.name.label("location_name"),
            tables.locations.c.timezone.label("location_timezone"),
            tables.locations.c.address.label("location_address"),
            tables.series.c.size.label("series_size"),
            tables.protocols.c.name.label("protocol_name"),
        )
        .join(tables.appointment_types, tables.appointment_types.c.id == tables.bookings.c.appointment_type_id)
        .join(tables.clinicians, tables.clinicians.c.id == tables.bookings.c.clinician_id)
        .join(tables.locations, tables.locations.c.id == tables.bookings.c.location_id)
        .outerjoin(tables.series, tables.series.c.id == tables.bookings.c.series_id)
        .outerjoin(tables.protocols, tables.protocols.c.id == tables.series.c.protocol_id)
    )


def booking_details(session: Session, booking_id: str) -> RowMapping | None:
    """A booking with the names of its type, clinician and location (and its series, if any)."""
    return session.execute(_details_query().where(tables.bookings.c.id == booking_id)).mappings().first()


def series_session_details(session: Session, series_id: str) -> list[RowMapping]:
    """Every session of a series, as ``booking_details`` rows, by position."""
    query = _details_query().where(tables.bookings.c.series_id == series_id).order_by(tables.bookings.c.series_position)
    return list(session.execute(query).mappings())


def find_idempotent(session: Session, scope: str, key: str) -> RowMapping | None:
    query = select(tables.idempotency_keys).where(tables.idempotency_keys.c.scope == scope, tables.idempotency_keys.c.key == key)
    return session.execute(query).mappings().first()


def remember_idempotent(session: Session, scope: str, key: str, request_sha256: str, booking_id: str, now: datetime) -> None:
    session.execute(
        tables.idempotency_keys.insert().values(
            scope=scope, key=key, request_sha256=request_sha256, booking_id=booking_id, created_at=now
        )
    )


# --- the eligibility-decision projection -------------------------------------------------------


def eligibility_decision(session: Session, screening_id: str) -> EligibilityDecision | None:
    """The decision the projection holds for a screening, if any."""
    decisions = tables.eligibility_decisions
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
            session.execute(tables.eligibility_decisions.insert().values(**values))
    except IntegrityError:
        return False  # another writer projected it between our read and our insert
    return True


def record_clinician_review(
    session: Session, screening_id: str, patient_email: str, approved: bool, reviewed_at: datetime, valid_until: datetime
) -> None:
    """A clinician approved or declined a screening; an upsert, so the order of arrival does not matter.

    The clinician's decision overrides the automated one, and a later copy of the automated
    decision never overrides it (remember_eligibility_decision only inserts).
    """
    decisions = tables.eligibility_decisions
    values = {"allowed": approved, "valid_until": valid_until}
    updated = session.execute(update(decisions).where(decisions.c.screening_id == screening_id).values(**values))
    if updated.rowcount == 0:
        session.execute(decisions.insert().values(
            screening_id=screening_id, patient_email=patient_email.lower(), decided_at=reviewed_at, **values,
        ))


# --- bookings and holds --------------------------------------------------------------------------


def booking_by_id(session: Session, booking_id: str) -> RowMapping:
    return session.execute(select(tables.bookings).where(tables.bookings.c.id == booking_id)).mappings().one()


def live_hold(session: Session, hold_id: str) -> RowMapping | None:
    """The hold with this id, if it is still a hold (it may be expired: the caller compares)."""
    return session.execute(
        select(tables.bookings).where(tables.bookings.c.id == hold_id, tables.bookings.c.status == "held")
    ).mappings().first()


def release_hold(session: Session, hold_id: str) -> None:
    session.execute(delete(tables.bookings).where(tables.bookings.c.id == hold_id, tables.bookings.c.status == "held"))


def update_booking(session: Session, booking_id: str, values: dict[str, Any]) -> None:
    session.execute(update(tables.bookings).where(tables.bookings.c.id == booking_id).values(**values))


def move_booking(session: Session, booking_id: str, clinician_id: str, values: dict[str, Any]) -> None:
    """Give a booking a new time (and room); the database refuses overlaps, as on insert."""
    lock_resources(session, clinician_id, values.get("room_id"))
    try:
        with session.begin_nested():
            update_booking(session, booking_id, values)
    except IntegrityError as error:
        if is_overlap(error):
            raise SlotUnavailable(SLOT_TAKEN) from None
        raise


def video_room_of_booked_clinician(session: Session, booking_id: str) -> str | None:
    """The fixed video room URL of the booking's clinician, if they have one."""
    clinicians, bookings = tables.clinicians, tables.bookings
    return session.execute(
        select(clinicians.c.video_room_url)
        .join(bookings, bookings.c.clinician_id == clinicians.c.id)
        .where(bookings.c.id == booking_id)
    ).scalar()


def booking_with_policy(session: Session, booking_id: str) -> RowMapping | None:
    """A booking (never a hold) with its type's cancel and reschedule notice hours."""
    types = tables.appointment_types
    return session.execute(
        select(tables.bookings, types.c.cancel_notice_hours, types.c.reschedule_notice_hours)
        .join(types, types.c.id == tables.bookings.c.appointment_type_id)
        .where(tables.bookings.c.id == booking_id, tables.bookings.c.status != "held")
    ).mappings().first()


def booked_counts_near(session: Session, clinician_ids: list[str], start: datetime) -> dict[str, int]:
    """Each clinician's booked appointments in the week around ``start`` (to spread load fairly)."""
    bookings, half_week = tables.bookings, timedelta(days=3, hours=12)
    rows = session.execute(
        select(bookings.c.clinician_id, func.count())
        .where(bookings.c.clinician_id.in_(clinician_ids), bookings.c.status.in_(("booked", "arrived")),
               bookings.c.start >= start - half_week, bookings.c.start < start + half_week)
        .group_by(bookings.c.clinician_id)
    )
    return dict(rows.all())


# --- staff records: any catalogue table by id ----------------------------------------------------------


def row_by_id(session: Session, table: Table, record_id: str, *, lock: bool = False) -> RowMapping | None:
    """The row with this id; ``lock`` serialises writers of the same record on PostgreSQL."""
    query = select(table).where(table.c.id == record_id)
    return session.execute(query.with_for_update() if lock else query).mappings().first()


def insert_row(session: Session, table: Table, values: Mapping[str, Any]) -> None:
    session.execute(table.insert().values(**values))


def update_row(session: Session, table: Table, record_id: str, values: Mapping[str, Any]) -> None:
    session.execute(update(table).where(table.c.id == record_id).values(**values))


def delete_row(session: Session, table: Table, record_id: str) -> None:
    session.execute(delete(table).where(table.c.id == record_id))


def count_referencing(session: Session, column: Column, record_id: str) -> int:
    """How many rows of ``column``'s table point at the record."""
    return session.execute(select(func.count()).select_from(column.table).where(column == record_id)).scalar_one()


def insert_missing_rows(
    session: Session, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...] = ("id",)
) -> bool:
    """Insert the rows whose key is not in the table yet; True if there were any."""
    columns = [table.c[name] for name in key]
    wanted = [tuple(row[name] for name in key) for row in rows]
    present = {tuple(row) for row in session.execute(select(*columns).where(tuple_(*columns).in_(wanted)))}
    missing = [row for row, row_key in zip(rows, wanted) if row_key not in present]
    if missing:
        session.execute(table.insert(), missing)
    return bool(missing)


# --- the catalogue: locations, rooms, appointment types, clinicians -------------------------------------


def locations_by_name(session: Session) -> list[RowMapping]:
    return list(session.execute(select(tables.locations).order_by(tables.locations.c.name)).mappings())


def rooms_by_location(session: Session, location_id: str | None = None) -> list[RowMapping]:
    """Rooms and chairs, by location and name; optionally at one location."""
    query = select(tables.rooms).order_by(tables.rooms.c.location_id, tables.rooms.c.name)
    if location_id is not None:
        query = query.where(tables.rooms.c.location_id == location_id)
    return list(session.execute(query).mappings())


def appointment_types_by_code(session: Session) -> list[RowMapping]:
    return list(session.execute(select(tables.appointment_types).order_by(tables.appointment_types.c.code)).mappings())


def appointment_type_code_taken(session: Session, code: str) -> bool:
    types = tables.appointment_types
    return session.execute(select(types.c.id).where(types.c.code == code)).first() is not None


def appointment_type_ids_for_codes(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Code to id, for the codes that exist."""
    types = tables.appointment_types
    return dict(session.execute(select(types.c.code, types.c.id).where(types.c.code.in_(list(codes)))).all())


def active_room_kind_exists(session: Session, kind: str) -> bool:
    return bool(session.execute(select(exists().where(tables.rooms.c.kind == kind, tables.rooms.c.active.is_(True)))).scalar())


def clinician_names(session: Session) -> dict[str, str]:
    """Every clinician's display name by id."""
    return dict(session.execute(select(tables.clinicians.c.id, tables.clinicians.c.name)).all())


def availability_version(session: Session) -> int:
    """The sum of the availability counters (migration 0022's triggers): it grows with every commit
    that could change an availability answer."""
    versions = tables.availability_versions
    return session.execute(select(func.coalesce(func.sum(versions.c.version), 0))).scalar_one()


def clinicians_by_name(session: Session) -> list[RowMapping]:
    return list(session.execute(select(tables.clinicians).order_by(tables.clinicians.c.name)).mappings())


def clinician_type_ids(session: Session, clinician_id: str) -> set[str]:
    link = tables.clinician_appointment_types
    return set(session.execute(select(link.c.appointment_type_id).where(link.c.clinician_id == clinician_id)).scalars())


def link_clinician_types(session: Session, clinician_id: str, type_ids: Iterable[str]) -> None:
    rows = [{"clinician_id": clinician_id, "appointment_type_id": type_id} for type_id in type_ids]
    if rows:
        session.execute(tables.clinician_appointment_types.insert(), rows)


def unlink_clinician_types(session: Session, clinician_id: str, type_ids: Iterable[str]) -> None:
    link = tables.clinician_appointment_types
    session.execute(
        delete(link).where(link.c.clinician_id == clinician_id, link.c.appointment_type_id.in_(list(type_ids)))
    )


def clinician_type_codes(session: Session, clinician_ids: list[str]) -> list[tuple[str, str]]:
    """(clinician id, type code) pairs, by code."""
    link = tables.clinician_appointment_types
    return list(session.execute(
        select(link.c.clinician_id, tables.appointment_types.c.code)
        .join(tables.appointment_types, tables.appointment_types.c.id == link.c.appointment_type_id)
        .where(link.c.clinician_id.in_(clinician_ids))
        .order_by(tables.appointment_types.c.code)
    ).all())


def clinician_location_ids(session: Session, clinician_ids: list[str]) -> list[tuple[str, str]]:
    """(clinician id, location id) pairs of where they have working hours, by location."""
    hours = tables.working_hours
    return list(session.execute(
        select(hours.c.clinician_id, hours.c.location_id)
        .where(hours.c.clinician_id.in_(clinician_ids))
        .distinct()
        .order_by(hours.c.location_id)
    ).all())


# --- calendar feeds ---------------------------------------------------------------------------------------


def active_clinician_by_calendar_token(session: Session, token: str) -> RowMapping | None:
    clinicians = tables.clinicians
    return session.execute(
        select(clinicians).where(clinicians.c.calendar_token == token, clinicians.c.active.is_(True))
    ).mappings().first()


def calendar_feed_bookings(
    session: Session, clinician_id: str, statuses: Iterable[str], ended_since: datetime
) -> list[RowMapping]:
    """A clinician's bookings in these statuses that end after ``ended_since``, with type, place and room names."""
    bookings = tables.bookings
    query = (
        select(
            bookings.c.id, bookings.c.status, bookings.c.sequence, bookings.c.start, bookings.c.end,
            bookings.c.created_at, bookings.c.updated_at, tables.appointment_types.c.name.label("type_name"),
            tables.locations.c.name.label("location_name"), tables.rooms.c.name.label("room_name"),
        )
        .join(tables.appointment_types, tables.appointment_types.c.id == bookings.c.appointment_type_id)
        .join(tables.locations, tables.locations.c.id == bookings.c.location_id)
        .outerjoin(tables.rooms, tables.rooms.c.id == bookings.c.room_id)
        .where(bookings.c.clinician_id == clinician_id, bookings.c.status.in_(list(statuses)),
               bookings.c.end >= ended_since)
        .order_by(bookings.c.start, bookings.c.id)
    )
    return list(session.execute(query).mappings())


# --- FHIR reads ------------------------------------------------------------------------------------------


def bookings_starting_between(
    session: Session, start: datetime, end: datetime, statuses: Iterable[str] | None, limit: int, offset: int
) -> tuple[list[RowMapping], int]:
    """One page of bookings starting in [start, end), by start, with the number of all of them."""
    bookings = tables.bookings
    conditions = [bookings.c.start >= start, bookings.c.start < end]
    if statuses is not None:
        conditions.append(bookings.c.status.in_(list(statuses)))
    total = session.execute(select(func.count()).select_from(bookings).where(*conditions)).scalar_one()
    rows = session.execute(
        select(bookings).where(*conditions).order_by(bookings.c.start, bookings.c.id).limit(limit).offset(offset)
    ).mappings()
    return list(rows), total


# --- staff members and their credentials -----------------------------------------------------------------


def staff_member_id_by_email(session: Session, email: str) -> str | None:
    return session.execute(select(tables.staff_members.c.id).where(tables.staff_members.c.email == email)).scalar()


def insert_staff_member(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(tables.staff_members.insert().values(**values))


def insert_staff_credential(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(tables.PLATFORM_TABLES["staff_credentials"].insert().values(**values))


# --- returning patients: records, sign-in links, sessions ----------------------------------------------


def patient_by_email(session: Session, email: str) -> RowMapping | None:
    """The patient with this normalised email."""
    return session.execute(select(tables.patients).where(tables.patients.c.email == email)).mappings().first()


def patient_by_id(session: Session, patient_id: str) -> RowMapping | None:
    return session.execute(select(tables.patients).where(tables.patients.c.id == patient_id)).mappings().first()


def save_patient(session: Session, patient_id: str, email: str, details: Mapping[str, Any], now: datetime) -> str:
    """Create the patient with this normalised email or update their details; returns their id.

    With details, one upsert statement (every booking makes one): two first bookings of one email at
    once meet in the unique index, and the later one updates. Without details, an existing patient is
    left untouched.
    """
    if details:
        upsert = _dialect_insert(session)(tables.patients).values(
            id=patient_id, email=email, created_at=now, updated_at=now, **details)
        upsert = upsert.on_conflict_do_update(index_elements=[tables.patients.c.email],
                                              set_={"updated_at": now, **details})
        return session.execute(upsert.returning(tables.patients.c.id)).scalar_one()
    existing = patient_by_email(session, email)
    if existing is not None:
        return existing["id"]
    try:
        with session.begin_nested():
            session.execute(tables.patients.insert().values(id=patient_id, email=email, created_at=now, updated_at=now))
        return patient_id
    except IntegrityError:
        existing = patient_by_email(session, email)
        if existing is None:
            raise
        return existing["id"]


def _dialect_insert(session: Session):
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite 3.24+ alike)."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def insert_sign_in_link(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(tables.patient_sign_in_links.insert().values(**values))


def claim_sign_in_link(session: Session, token_sha256: str, now: datetime) -> RowMapping | None:
    """Mark an unused, unexpired link used and return it; None if it was not (one winner when two race)."""
    links = tables.patient_sign_in_links
    claimed = session.execute(
        update(links).where(links.c.token_sha256 == token_sha256, links.c.used_at.is_(None), links.c.expires_at > now)
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        return None
    return session.execute(select(links).where(links.c.token_sha256 == token_sha256)).mappings().first()


def sign_in_link(session: Session, token_sha256: str) -> RowMapping | None:
    links = tables.patient_sign_in_links
    return session.execute(select(links).where(links.c.token_sha256 == token_sha256)).mappings().first()


def delete_stale_sign_in_links(session: Session, before: datetime) -> None:
    links = tables.patient_sign_in_links
    session.execute(delete(links).where(links.c.expires_at < before))


def insert_patient_session(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(tables.patient_sessions.insert().values(**values))


def patient_session(session: Session, id_sha256: str, kind: str) -> RowMapping | None:
    """A session (or widget proof) with its patient's email."""
    sessions, patients = tables.patient_sessions, tables.patients
    return session.execute(
        select(sessions, patients.c.email)
        .join(patients, patients.c.id == sessions.c.patient_id)
        .where(sessions.c.id_sha256 == id_sha256, sessions.c.kind == kind)
    ).mappings().first()


def touch_patient_session(session: Session, id_sha256: str, now: datetime) -> None:
    sessions = tables.patient_sessions
    session.execute(update(sessions).where(sessions.c.id_sha256 == id_sha256).values(last_seen_at=now))


def delete_stale_patient_sessions(session: Session, before: datetime) -> None:
    """Sessions and widget proofs unused since ``before`` (both end after 30 minutes at most)."""
    sessions = tables.patient_sessions
    session.execute(delete(sessions).where(sessions.c.last_seen_at < before))


def take_patient_session(session: Session, id_sha256: str, kind: str, created_after: datetime) -> str | None:
    """Delete a one-time row (a hand-off code) made after ``created_after``; its patient id if this call took it."""
    sessions = tables.patient_sessions
    patient_id = session.execute(
        select(sessions.c.patient_id).where(sessions.c.id_sha256 == id_sha256, sessions.c.kind == kind,
                                            sessions.c.created_at > created_after)).scalar()
    if patient_id is None:
        return None
    taken = session.execute(delete(sessions).where(sessions.c.id_sha256 == id_sha256, sessions.c.kind == kind))
    return patient_id if taken.rowcount == 1 else None


def delete_patient_session(session: Session, id_sha256: str) -> None:
    session.execute(delete(tables.patient_sessions).where(tables.patient_sessions.c.id_sha256 == id_sha256))


def booking_ids_of_patient(session: Session, email: str) -> list[str]:
    """A patient's bookings (never holds), by start, found by lower-cased email."""
    bookings = tables.bookings
    return list(session.execute(
        select(bookings.c.id)
        .where(func.lower(bookings.c.patient_email) == email, bookings.c.status != "held")
        .order_by(bookings.c.start, bookings.c.id)
    ).scalars())


DOSING_CATEGORIES = ("dosing_iv", "dosing_im", "dosing_esketamine", "booster")


def dosing_sessions_of(session: Session, email: str) -> list[RowMapping]:
    """A patient's dosing sessions that are booked or took place (not cancelled, not holds), by start."""
    bookings, types = tables.bookings, tables.appointment_types
    query = (
        select(bookings.c.id, bookings.c.start, bookings.c.status, types.c.name.label("type_name"))
        .join(types, types.c.id == bookings.c.appointment_type_id)
        .where(types.c.category.in_(DOSING_CATEGORIES), func.lower(bookings.c.patient_email) == email.lower(),
               bookings.c.status.not_in(("held", "cancelled")))
        .order_by(bookings.c.start, bookings.c.id)
    )
    return list(session.execute(query).mappings())


def eligibility_decisions_of(session: Session, email: str) -> list[tuple[str, bool, datetime, datetime]]:
    """(screening id, allowed, decided at, valid until) of every decision projected for this email."""
    decisions = tables.eligibility_decisions
    return [tuple(row) for row in session.execute(
        select(decisions.c.screening_id, decisions.c.allowed, decisions.c.decided_at, decisions.c.valid_until)
        .where(func.lower(decisions.c.patient_email) == email)
    ).all()]


# --- treatment protocols and series -------------------------------------------------------------


def protocol_from_row(row: Mapping[str, Any]) -> Protocol:
    """A ``protocols`` row (with its type's code as ``appointment_type``) as the domain's Protocol."""
    return Protocol(
        id=row["id"], code=row["code"], name=row["name"], appointment_type=row["appointment_type"],
        sessions=row["sessions"], min_gap=timedelta(hours=row["min_gap_hours"]), max_window_days=row["max_window_days"],
        max_per_week=row["max_per_week"], requires_preparation=row["requires_preparation"],
        integration_within_days=row["integration_within_days"],
    )


def _protocols_query():
    protocols, types = tables.protocols, tables.appointment_types
    return (
        select(protocols, types.c.code.label("appointment_type"))
        .join(types, types.c.id == protocols.c.appointment_type_id)
        .order_by(protocols.c.code)
    )


def protocols_list(session: Session, appointment_type: str | None = None, active_only: bool = True) -> list[RowMapping]:
    """Protocols by code, with their appointment type's code; optionally of one type, active ones only."""
    query = _protocols_query()
    if active_only:
        query = query.where(tables.protocols.c.active.is_(True))
    if appointment_type is not None:
        query = query.where(tables.appointment_types.c.code == appointment_type)
    return list(session.execute(query).mappings())


def protocol_by_code(session: Session, code: str) -> RowMapping | None:
    query = _protocols_query().where(tables.protocols.c.code == code, tables.protocols.c.active.is_(True))
    return session.execute(query).mappings().first()


def protocol_by_id(session: Session, protocol_id: str) -> RowMapping | None:
    return session.execute(_protocols_query().where(tables.protocols.c.id == protocol_id)).mappings().first()


def protocol_code_taken(session: Session, code: str) -> bool:
    return session.execute(select(tables.protocols.c.id).where(tables.protocols.c.code == code)).first() is not None


def insert_series(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(tables.series.insert().values(**values))


def series_by_id(session: Session, series_id: str) -> RowMapping | None:
    """A series with its protocol's code and name."""
    series, protocols = tables.series, tables.protocols
    query = (
        select(series, protocols.c.code.label("protocol_code"), protocols.c.name.label("protocol_name"))
        .join(protocols, protocols.c.id == series.c.protocol_id)
        .where(series.c.id == series_id)
    )
    return session.execute(query).mappings().first()


def set_series_status(session: Session, series_id: str, status: str) -> None:
    session.execute(update(tables.series).where(tables.series.c.id == series_id).values(status=status))


def has_preparation_before(session: Session, patient_email: str, start: datetime) -> bool:
    """True when the patient has a preparation session (booked, arrived or fulfilled) starting before ``start``."""
    bookings, types = tables.bookings, tables.appointment_types
    query = (
        select(bookings.c.id)
        .join(types, types.c.id == bookings.c.appointment_type_id)
        .where(types.c.category == "preparation", func.lower(bookings.c.patient_email) == patient_email.lower(),
               bookings.c.status.in_(("booked", "arrived", "fulfilled")), bookings.c.start < start)
        .limit(1)
    )
    return session.execute(query).first() is not None
def staff_member_by_email(session: Session, email: str) -> RowMapping | None:
    """The staff member with this (lower-case) email, password hash included, or None."""
    return session.execute(select(tables.staff_members).where(tables.staff_members.c.email == email)).mappings().first()


def staff_members_by_name(session: Session) -> list[RowMapping]:
    members = tables.staff_members
    query = select(members.c.id, members.c.name, members.c.email, members.c.role, members.c.clinician_id,
                   members.c.created_at, members.c.password_changed_at).order_by(members.c.name, members.c.id)
    return list(session.execute(query).mappings())


def set_staff_password_hash(session: Session, staff_id: str, password_hash: str, at: datetime) -> None:
    session.execute(update(tables.staff_members).where(tables.staff_members.c.id == staff_id)
                    .values(password_hash=password_hash, password_changed_at=at))


# --- console sessions ------------------------------------------------------------------------------


def insert_console_session(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(tables.staff_sessions.insert().values(**values))


def console_session_by_digest(session: Session, secret_sha256: str) -> RowMapping | None:
    """The session with this secret digest, with its staff member's name and role, or None."""
    sessions, members = tables.staff_sessions, tables.staff_members
    query = (select(sessions, members.c.name.label("staff_name"), members.c.role)
             .join(members, members.c.id == sessions.c.staff_id)
             .where(sessions.c.secret_sha256 == secret_sha256))
    return session.execute(query).mappings().first()


def touch_console_session(session: Session, session_id: str, at: datetime) -> None:
    session.execute(update(tables.staff_sessions).where(tables.staff_sessions.c.id == session_id).values(last_seen_at=at))


def console_session_ids(session: Session, staff_id: str) -> list[str]:
    query = select(tables.staff_sessions.c.id).where(tables.staff_sessions.c.staff_id == staff_id)
    return list(session.execute(query).scalars())


def lapsed_console_session_ids(session: Session, idle_since: datetime, created_before: datetime) -> list[str]:
    """Sessions idle since before ``idle_since`` or begun before ``created_before``."""
    sessions = tables.staff_sessions
    query = select(sessions.c.id).where((sessions.c.last_seen_at < idle_since) | (sessions.c.created_at < created_before))
    return list(session.execute(query).scalars())


def delete_console_sessions(session: Session, session_ids: Iterable[str]) -> None:
    session.execute(delete(tables.staff_sessions).where(tables.staff_sessions.c.id.in_(list(session_ids))))


def revoke_staff_credentials(session: Session, credential_ids: Iterable[str], at: datetime) -> list[str]:
    """Mark the still-live credentials among ``credential_ids`` revoked; returns the ones it revoked."""
    credentials = tables.PLATFORM_TABLES["staff_credentials"]
    live = list(session.execute(select(credentials.c.credential_id).where(
        credentials.c.credential_id.in_(list(credential_ids)), credentials.c.revoked_at.is_(None))).scalars())
    if live:
        session.execute(update(credentials).where(credentials.c.credential_id.in_(live)).values(revoked_at=at))
    return live


# --- two-step verification -------------------------------------------------------------------------


def staff_member_by_id(session: Session, staff_id: str) -> RowMapping | None:
    return session.execute(select(tables.staff_members).where(tables.staff_members.c.id == staff_id)).mappings().first()


def staff_member_id_by_clinician(session: Session, clinician_id: str) -> str | None:
    members = tables.staff_members
    return session.execute(select(members.c.id).where(members.c.clinician_id == clinician_id)).scalar()


def clinician_exists(session: Session, clinician_id: str) -> bool:
    return session.execute(select(tables.clinicians.c.id).where(tables.clinicians.c.id == clinician_id)).scalar() is not None


def update_staff_member(session: Session, staff_id: str, **values: Any) -> None:
    session.execute(update(tables.staff_members).where(tables.staff_members.c.id == staff_id).values(**values))


def replace_recovery_codes(session: Session, staff_id: str, digests: Iterable[str]) -> None:
    codes = tables.staff_recovery_codes
    session.execute(delete(codes).where(codes.c.staff_id == staff_id))
    rows = [{"id": str(uuid.uuid4()), "staff_id": staff_id, "code_sha256": digest} for digest in digests]
    if rows:
        session.execute(codes.insert(), rows)


def use_recovery_code(session: Session, staff_id: str, digest: str, at: datetime) -> bool:
    """Spend an unused recovery code; False when there is none with this digest (or it was used)."""
    codes = tables.staff_recovery_codes
    result = session.execute(update(codes).where(codes.c.staff_id == staff_id, codes.c.code_sha256 == digest,
                                                 codes.c.used_at.is_(None)).values(used_at=at))
    return result.rowcount == 1


def unused_recovery_codes(session: Session, staff_id: str) -> int:
    codes = tables.staff_recovery_codes
    return session.execute(select(func.count()).select_from(codes).where(codes.c.staff_id == staff_id,
                                                                         codes.c.used_at.is_(None))).scalar_one()


def set_session_authenticated(session: Session, session_id: str, at: datetime) -> None:
    session.execute(update(tables.staff_sessions).where(tables.staff_sessions.c.id == session_id).values(authenticated_at=at))


# --- sign-in lockout -------------------------------------------------------------------------------


def record_sign_in_failure(session: Session, email_sha256: str, ip: str | None, at: datetime) -> None:
    session.execute(tables.sign_in_failures.insert().values(at=at, email_sha256=email_sha256, ip=ip))


def sign_in_failures_since(session: Session, email_sha256: str, ip: str | None, since: datetime) -> tuple[int, int]:
    """Failed sign-ins after ``since``: for this email, and from this IP."""
    failures = tables.sign_in_failures
    by_email = session.execute(select(func.count()).select_from(failures).where(
        failures.c.email_sha256 == email_sha256, failures.c.at > since)).scalar_one()
    by_ip = session.execute(select(func.count()).select_from(failures).where(
        failures.c.ip == ip, failures.c.at > since)).scalar_one() if ip else 0
    return by_email, by_ip


def clear_sign_in_failures(session: Session, email_sha256: str, older_than: datetime) -> None:
    """Forget this email's failures (it signed in), and everyone's older than the window."""
    failures = tables.sign_in_failures
    session.execute(delete(failures).where((failures.c.email_sha256 == email_sha256) | (failures.c.at < older_than)))


# --- password reset links --------------------------------------------------------------------------


def insert_password_reset(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(tables.staff_password_resets.insert().values(**values))


def live_password_resets(session: Session, staff_id: str, now: datetime) -> int:
    """Unused, unexpired reset links of this staff member."""
    resets = tables.staff_password_resets
    return session.execute(select(func.count()).select_from(resets).where(
        resets.c.staff_id == staff_id, resets.c.used_at.is_(None), resets.c.expires_at > now)).scalar_one()


def live_password_reset(session: Session, secret_sha256: str, now: datetime) -> RowMapping | None:
    resets = tables.staff_password_resets
    return session.execute(select(resets).where(resets.c.secret_sha256 == secret_sha256, resets.c.used_at.is_(None),
                                                resets.c.expires_at > now)).mappings().first()


def spend_password_reset(session: Session, reset_id: str, now: datetime) -> bool:
    """Mark the link used; False if another request used it first."""
    resets = tables.staff_password_resets
    result = session.execute(update(resets).where(resets.c.id == reset_id, resets.c.used_at.is_(None)).values(used_at=now))
    return result.rowcount == 1


# --- API tokens ------------------------------------------------------------------------------------


def api_tokens(session: Session) -> list[RowMapping]:
    """Every API token (console session delegates left out), newest first, with its staff member's email."""
    credentials, members = tables.PLATFORM_TABLES["staff_credentials"], tables.staff_members
    query = (select(credentials.c.credential_id, credentials.c.staff_id, credentials.c.staff_name, credentials.c.role,
                    credentials.c.issued_at, credentials.c.expires_at, credentials.c.revoked_at, credentials.c.scopes, members.c.email)
             .outerjoin(members, members.c.id == credentials.c.staff_id)
             .where(credentials.c.credential_id.not_like("console-%"))
             .order_by(credentials.c.issued_at.desc(), credentials.c.credential_id))
    return list(session.execute(query).mappings())


def api_token_exists(session: Session, credential_id: str) -> bool:
    credentials = tables.PLATFORM_TABLES["staff_credentials"]
    return session.execute(select(credentials.c.credential_id).where(credentials.c.credential_id == credential_id)).first() is not None


# --- manage-link secrets (issue 14 finding 4) ------------------------------------------------------

def insert_manage_secret(session: Session, secret_sha256: str, booking_id: str, now: datetime) -> None:
    session.execute(tables.manage_link_secrets.insert().values(secret_sha256=secret_sha256, booking_id=booking_id, created_at=now))


def booking_id_for_manage_secret(session: Session, secret_sha256: str) -> str | None:
    secrets = tables.manage_link_secrets
    return session.execute(select(secrets.c.booking_id).where(secrets.c.secret_sha256 == secret_sha256)).scalar()


def has_manage_secret(session: Session, booking_id: str) -> bool:
    secrets = tables.manage_link_secrets
    return session.execute(select(exists().where(secrets.c.booking_id == booking_id))).scalar()


def delete_manage_secrets(session: Session, booking_id: str) -> None:
    secrets = tables.manage_link_secrets
    session.execute(delete(secrets).where(secrets.c.booking_id == booking_id))
