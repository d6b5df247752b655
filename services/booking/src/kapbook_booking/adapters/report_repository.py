"""The director's report's queries: every figure is a SQL aggregate (GROUP BY, window functions), so a
report costs a fixed handful of statements whatever the number of bookings, on SQLite as on PostgreSQL.

What the figures count (the README's "The director's report" says it for people):

* Bookings count by their start: a booking belongs to the week and range its start falls in.
* Booked hours: appointment time (start to end, buffers not included) of bookings that kept their
  time: booked, arrived, fulfilled, and no-shows (the time was reserved for them).
* A late cancellation: cancelled less than the type's ``cancel_notice_hours`` before its start. A
  cancelled booking is never changed again, so its ``updated_at`` is when it was cancelled.
* A series is due when its last planned session starts in the range and has ended by now (a course
  still under way is neither complete nor incomplete yet); it is complete when every one of its
  ``size`` sessions was attended (arrived or fulfilled).
* Consultation to first dose: per patient (email, case-insensitive) whose first dosing session
  (categories ``dosing_*``, not cancelled or missed) starts in the range, from their first
  consultation (category ``consultation``, not cancelled or missed) before it.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from kapbook_booking.adapters import tables

Record = dict[str, Any]

KEPT_STATUSES = ("booked", "arrived", "fulfilled", "noshow")
ATTENDED_STATUSES = ("arrived", "fulfilled")
LIVE_STATUSES = ("booked", "arrived", "fulfilled")
REPORTED_STATUSES = KEPT_STATUSES + ("cancelled",)  # holds are no appointment yet
CONSULTATION_CATEGORIES = ("consultation",)
DOSING_CATEGORIES = ("dosing_iv", "dosing_esketamine", "dosing_im")


def hours_between(session: Session, start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """``end - start`` in hours, as a float, in the dialect's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return cast(func.extract("epoch", end - start), Float) / 3600.0


def _week_index(column: ColumnElement, bounds: Sequence[datetime]) -> ColumnElement:
    """0 for a start before bounds[1], 1 before bounds[2], ... (rows are already within the range)."""
    whens = [(column < bound, index) for index, bound in enumerate(bounds[1:-1])]
    return case(*whens, else_=len(bounds) - 2) if whens else literal(0)


def booking_counts(session: Session, start: datetime, end: datetime, bounds: Sequence[datetime], by: str) -> list[Record]:
    """Per ``by`` (``clinician_id`` or ``room_id``) and week of the range: booked hours, appointments,
    no-shows, cancellations and late cancellations of the bookings starting in [start, end)."""
    b, types = tables.bookings, tables.appointment_types
    late = and_(b.c.status == "cancelled", hours_between(session, b.c.updated_at, b.c.start) < types.c.cancel_notice_hours)
    rows = (
        select(
            b.c[by].label("subject_id"), _week_index(b.c.start, bounds).label("week"), b.c.status,
            hours_between(session, b.c.start, b.c.end).label("hours"), case((late, 1), else_=0).label("late"),
        )
        .join(types, types.c.id == b.c.appointment_type_id)
        .where(b.c.start >= start, b.c.start < end, b.c.status.in_(REPORTED_STATUSES), b.c[by].is_not(None))
        .subquery("reported")
    )
    status = rows.c.status
    query = (
        select(
            rows.c.subject_id, rows.c.week,
            func.coalesce(func.sum(case((status.in_(KEPT_STATUSES), rows.c.hours), else_=0.0)), 0.0).label("booked_hours"),
            func.count().label("appointments"),
            func.sum(case((status.in_(KEPT_STATUSES), 1), else_=0)).label("kept"),
            func.sum(case((status == "noshow", 1), else_=0)).label("no_shows"),
            func.sum(case((status == "cancelled", 1), else_=0)).label("cancellations"),
            func.sum(rows.c.late).label("late_cancellations"),
        )
        .group_by(rows.c.subject_id, rows.c.week)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def series_completion(session: Session, start: datetime, end: datetime, now: datetime) -> Record:
    """Series whose last planned session starts in [start, end) and ended by ``now`` (``due``), and how
    many of them had every session attended (``completed``)."""
    b, series = tables.bookings, tables.series
    per_series = (
        select(
            b.c.series_id,
            func.max(b.c.start).label("last_start"),
            func.max(b.c.end).label("last_end"),
            func.sum(case((b.c.status.in_(ATTENDED_STATUSES), 1), else_=0)).label("attended"),
        )
        .where(b.c.series_id.is_not(None))
        .group_by(b.c.series_id)
        .subquery()
    )
    query = (
        select(
            func.count().label("due"),
            func.coalesce(func.sum(case((per_series.c.attended >= series.c.size, 1), else_=0)), 0).label("completed"),
        )
        .select_from(per_series.join(series, series.c.id == per_series.c.series_id))
        .where(per_series.c.last_start >= start, per_series.c.last_start < end, per_series.c.last_end <= now)
    )
    return dict(session.execute(query).mappings().one())


def consultation_to_first_dose(session: Session, start: datetime, end: datetime) -> Record:
    """The patients whose first dose starts in [start, end) after a consultation (``patients``), and
    the median of their days from first consultation to first dose (``median_days``, None if none)."""
    b, types = tables.bookings, tables.appointment_types
    category = types.c.category
    # One pass over the patient's bookings gives both firsts (a join of two grouped sets was 30 times slower).
    firsts = (
        select(
            func.min(case((category.in_(CONSULTATION_CATEGORIES), b.c.start))).label("first_consultation"),
            func.min(case((category.in_(DOSING_CATEGORIES), b.c.start))).label("first_dose"),
        )
        .join(types, types.c.id == b.c.appointment_type_id)
        .where(category.in_(CONSULTATION_CATEGORIES + DOSING_CATEGORIES), b.c.status.in_(LIVE_STATUSES),
               b.c.patient_email.is_not(None))
        .group_by(func.lower(b.c.patient_email))
        .subquery("firsts")
    )
    waits = (
        select((hours_between(session, firsts.c.first_consultation, firsts.c.first_dose) / 24.0).label("days"))
        .where(firsts.c.first_dose >= start, firsts.c.first_dose < end,
               firsts.c.first_consultation <= firsts.c.first_dose)
        .subquery("waits")
    )
    ranked = select(
        waits.c.days,
        func.row_number().over(order_by=waits.c.days).label("position"),
        func.count().over().label("patients"),
    ).subquery("ranked")
    # The middle row, or the mean of the two middle rows (// is floor division on both dialects).
    middle = ranked.c.position.in_([(ranked.c.patients + 1) // 2, (ranked.c.patients + 2) // 2])
    query = select(func.avg(ranked.c.days).label("median_days"), func.max(ranked.c.patients).label("patients")).where(middle)
    row = dict(session.execute(query).mappings().one())
    return {"patients": row["patients"] or 0, "median_days": row["median_days"]}


def waitlist_fill(session: Session, start: datetime, end: datetime) -> Record:
    """Slots starting in [start, end) that were offered to the waitlist (``offered``: distinct clinician
    and start), and how many of them a waiting patient took (``filled``)."""
    offers = tables.waitlist_offers
    per_slot = (
        select(func.max(case((offers.c.status == "claimed", 1), else_=0)).label("filled"))
        .where(offers.c.start >= start, offers.c.start < end)
        .group_by(offers.c.clinician_id, offers.c.start)
        .subquery()
    )
    query = select(func.count().label("offered"), func.coalesce(func.sum(per_slot.c.filled), 0).label("filled"))
    return dict(session.execute(query.select_from(per_slot)).mappings().one())


def clinicians_and_rooms(session: Session) -> tuple[list[Record], list[Record]]:
    """Every clinician (id, name, active) and every room (id, name, kind, location, active), by name."""
    clinicians, rooms, locations = tables.clinicians, tables.rooms, tables.locations
    people = session.execute(
        select(clinicians.c.id, clinicians.c.name, clinicians.c.active).order_by(clinicians.c.name, clinicians.c.id)
    ).mappings()
    places = session.execute(
        select(rooms.c.id, rooms.c.name, rooms.c.kind, rooms.c.active, rooms.c.location_id,
               locations.c.name.label("location_name"))
        .join(locations, locations.c.id == rooms.c.location_id)
        .order_by(locations.c.name, rooms.c.name, rooms.c.id)
    ).mappings()
    return [dict(row) for row in people], [dict(row) for row in places]


def first_location_zone(session: Session) -> str | None:
    """The time zone of the first location by name (the console's calendar opens there too)."""
    locations = tables.locations
    return session.execute(select(locations.c.timezone).order_by(locations.c.name, locations.c.id).limit(1)).scalar()
