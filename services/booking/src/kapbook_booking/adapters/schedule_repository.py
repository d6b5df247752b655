"""Reads of clinicians' schedules for the staff use cases: weekly hours, date overrides, time off.

Writes go through `StaffWrites`, which audits them; the availability engine's bulk reads are in
`adapters/schedules.py`.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables
from kapbook_booking.domain.availability import WeeklyHours

Record = dict[str, Any]


def weekly_hours_from(row: Mapping[str, Any]) -> WeeklyHours:
    """A working_hours row (or request values of the same shape) as the engine's WeeklyHours."""
    return WeeklyHours(row["weekday"], row["start_time"], row["end_time"], row["effective_from"], row["effective_until"])


def working_hours_rows(session: Session, clinician_id: str) -> list[Record]:
    """The clinician's working_hours rows by weekday and start."""
    hours = tables.working_hours
    query = select(hours).where(hours.c.clinician_id == clinician_id).order_by(hours.c.weekday, hours.c.start_time)
    return [dict(row) for row in session.execute(query).mappings()]


def weekly_hours_of(session: Session, clinician_id: str, excluding: str | None = None) -> list[WeeklyHours]:
    """The clinician's weekly intervals, all locations, but the one with id ``excluding``."""
    query = select(tables.working_hours).where(tables.working_hours.c.clinician_id == clinician_id)
    if excluding is not None:
        query = query.where(tables.working_hours.c.id != excluding)
    return [weekly_hours_from(row) for row in session.execute(query).mappings()]


def override_rows(session: Session, clinician_id: str, since: date | None = None) -> list[Record]:
    """The clinician's schedule_overrides rows by date and start, from ``since`` on when given."""
    overrides = tables.schedule_overrides
    query = select(overrides).where(overrides.c.clinician_id == clinician_id)
    if since is not None:
        query = query.where(overrides.c.date >= since)
    rows = session.execute(query.order_by(overrides.c.date, overrides.c.start_time)).mappings()
    return [dict(row) for row in rows]


def overrides_on(session: Session, clinician_id: str, day: date) -> list[Record]:
    """The clinician's overrides dated ``day``, at any location."""
    overrides = tables.schedule_overrides
    query = select(overrides).where(overrides.c.clinician_id == clinician_id, overrides.c.date == day)
    return [dict(row) for row in session.execute(query).mappings()]


def time_off_ending_after(session: Session, clinician_id: str, since: datetime) -> list[Record]:
    """The clinician's time_off rows that end after ``since``, by start."""
    off = tables.time_off
    query = select(off).where(off.c.clinician_id == clinician_id, off.c.end > since).order_by(off.c.start)
    return [dict(row) for row in session.execute(query).mappings()]


def time_off_between(session: Session, clinician_id: str, start: datetime, end: datetime) -> list[Record]:
    """The clinician's time off overlapping [start, end), by start: id, start, end and reason."""
    off = tables.time_off
    query = (
        select(off.c.id, off.c.start, off.c.end, off.c.reason)
        .where(off.c.clinician_id == clinician_id, off.c.start < end, off.c.end > start)
        .order_by(off.c.start)
    )
    return [dict(row) for row in session.execute(query).mappings()]


# Statuses of an appointment a patient still expects to attend: time off over them needs a human.
ATTENDED_STATUSES = ("booked", "arrived")


def bookings_between(session: Session, clinician_id: str, start: datetime, end: datetime) -> list[Record]:
    """The clinician's booked or arrived appointments overlapping [start, end), by start: id, start,
    end and the patient's name (the caller keeps the first name only)."""
    bookings = tables.bookings
    query = (
        select(bookings.c.id, bookings.c.start, bookings.c.end, bookings.c.patient_name)
        .where(bookings.c.clinician_id == clinician_id, bookings.c.status.in_(ATTENDED_STATUSES),
               bookings.c.start < end, bookings.c.end > start)
        .order_by(bookings.c.start, bookings.c.id)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def linked_clinician_id(session: Session, staff_id: str) -> str | None:
    """The clinician record a staff member is linked to, or None."""
    members = tables.staff_members
    return session.execute(select(members.c.clinician_id).where(members.c.id == staff_id)).scalar()
