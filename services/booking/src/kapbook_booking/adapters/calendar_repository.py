"""Reads for the staff calendar: the room it shows, and bookings with everything they name joined in."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables

ROOM_FIELDS = ("id", "name", "kind", "active", "location_id", "location_name")


def room_with_location(session: Session, room_id: str) -> dict | None:
    """The room's id, name, kind, active flag, location id and location name; None if there is none."""
    query = (
        select(tables.rooms, tables.locations.c.name.label("location_name"))
        .join(tables.locations, tables.locations.c.id == tables.rooms.c.location_id)
        .where(tables.rooms.c.id == room_id)
    )
    row = session.execute(query).mappings().first()
    return None if row is None else {key: row[key] for key in ROOM_FIELDS}


def calendar_bookings(
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    clinician_id: str | None = None,
    room_id: str | None = None,
    include_cancelled: bool = False,
) -> list[RowMapping]:
    """The clinician's (or else the room's) bookings overlapping [start, end), by start, in one query,
    with type, clinician, location and room joined in; expired holds are gone already in effect."""
    b = tables.bookings
    statement = _calendar_columns().where(b.c.start < end, b.c.end > start)
    statement = statement.where(or_(b.c.status != "held", b.c.hold_expires_at > now)).order_by(b.c.start, b.c.id)
    if clinician_id is not None:
        statement = statement.where(b.c.clinician_id == clinician_id)
    else:
        statement = statement.where(b.c.room_id == room_id)
    if not include_cancelled:
        statement = statement.where(b.c.status != "cancelled")
    return list(session.execute(statement).mappings())


def _calendar_columns():
    b, types, rooms = tables.bookings, tables.appointment_types, tables.rooms
    return (
        select(
            b.c.id, b.c.status, b.c.sequence, b.c.start, b.c.end, b.c.blocked_start, b.c.blocked_end,
            b.c.hold_expires_at, b.c.patient_name, b.c.clinician_id, b.c.location_id, b.c.room_id,
            types.c.code.label("type_code"), types.c.name.label("type_name"), types.c.category.label("type_category"),
            tables.clinicians.c.name.label("clinician_name"), tables.locations.c.name.label("location_name"),
            rooms.c.name.label("room_name"), rooms.c.kind.label("room_kind"),
        )
        .join(types, types.c.id == b.c.appointment_type_id)
        .join(tables.clinicians, tables.clinicians.c.id == b.c.clinician_id)
        .join(tables.locations, tables.locations.c.id == b.c.location_id)
        .outerjoin(rooms, rooms.c.id == b.c.room_id)
    )
