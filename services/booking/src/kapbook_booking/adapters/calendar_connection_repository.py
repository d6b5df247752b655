"""Queries for clinicians' connected calendars: the connections, their synced busy ranges and
the bookings waiting to be written into them."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables

connections, busy, pushes = tables.calendar_connections, tables.calendar_busy, tables.calendar_pushes


def connections_of(session: Session, clinician_id: str) -> list[RowMapping]:
    query = select(connections).where(connections.c.clinician_id == clinician_id).order_by(connections.c.created_at)
    return list(session.execute(query).mappings())


def all_connections(session: Session) -> list[RowMapping]:
    return list(session.execute(select(connections).order_by(connections.c.clinician_id, connections.c.created_at)).mappings())


def push_counts(session: Session, connection_ids: Iterable[str]) -> dict[tuple[str, str], int]:
    """(connection id, push status) → how many bookings are in that state."""
    ids = list(connection_ids)
    if not ids:
        return {}
    query = (
        select(pushes.c.connection_id, pushes.c.status, func.count())
        .where(pushes.c.connection_id.in_(ids))
        .group_by(pushes.c.connection_id, pushes.c.status)
    )
    return {(connection_id, status): count for connection_id, status, count in session.execute(query)}


def main_timezone(session: Session, clinician_id: str) -> str | None:
    """The zone of the location where the clinician has the most weekly hours (None: no hours)."""
    hours, locations = tables.working_hours, tables.locations
    query = (
        select(locations.c.timezone)
        .join(hours, hours.c.location_id == locations.c.id)
        .where(hours.c.clinician_id == clinician_id)
        .group_by(locations.c.timezone)
        .order_by(func.count().desc(), locations.c.timezone)
        .limit(1)
    )
    return session.execute(query).scalar()


def claim_due_syncs(session: Session, now: datetime, lease_until: datetime, limit: int) -> list[RowMapping]:
    """Active connections whose sync is due, leased to this worker until ``lease_until`` (another
    worker skips them; a worker that dies leaves them due again when the lease runs out)."""
    query = (
        select(connections.c.id)
        .where(
            connections.c.active.is_(True),
            connections.c.next_sync_at <= now,
            or_(connections.c.claimed_until.is_(None), connections.c.claimed_until < now),
        )
        .order_by(connections.c.next_sync_at, connections.c.id)
        .limit(limit)
    )
    return _lease(session, connections, query, lease_until)


def lease_connection(session: Session, connection_id: str, lease_until: datetime) -> RowMapping | None:
    """One connection, leased for an on-demand sync (whatever its schedule)."""
    query = select(connections.c.id).where(connections.c.id == connection_id)
    found = _lease(session, connections, query, lease_until)
    return found[0] if found else None


def replace_busy(session: Session, connection: Mapping[str, Any], ranges: Iterable[tuple[datetime, datetime]]) -> int:
    """The connection's busy ranges become ``ranges``; returns how many."""
    session.execute(delete(busy).where(busy.c.connection_id == connection["id"]))
    rows = [{"connection_id": connection["id"], "clinician_id": connection["clinician_id"], "start": start, "end": end}
            for start, end in ranges]
    if rows:
        session.execute(insert(busy), rows)
    return len(rows)


def drop_busy(session: Session, connection_id: str) -> None:
    session.execute(delete(busy).where(busy.c.connection_id == connection_id))


def busy_of(session: Session, connection_id: str) -> list[tuple[datetime, datetime]]:
    query = select(busy.c.start, busy.c.end).where(busy.c.connection_id == connection_id).order_by(busy.c.start)
    return [(start, end) for start, end in session.execute(query)]


def busy_between(session: Session, clinician_id: str, start: datetime, end: datetime) -> list[dict[str, datetime]]:
    """The clinician's synced busy ranges overlapping [start, end), by start (the staff calendar shows them)."""
    query = (
        select(busy.c.start, busy.c.end)
        .where(busy.c.clinician_id == clinician_id, busy.c.start < end, busy.c.end > start)
        .order_by(busy.c.start)
    )
    return [{"start": row.start, "end": row.end} for row in session.execute(query)]


def update_connection(session: Session, connection_id: str, values: Mapping[str, Any]) -> None:
    session.execute(update(connections).where(connections.c.id == connection_id).values(**values))


# --- pushing bookings ------------------------------------------------------------------------------


def push_targets(session: Session, booking_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(connection id, booking id) pairs a change of these bookings concerns: the pushing calendars
    of each booking's clinician, and any calendar that already holds the booking (it moved to
    another clinician, or was cancelled). One query: it runs with every booking event."""
    ids, b = list(booking_ids), tables.bookings
    clinicians_calendars = (
        select(connections.c.id, b.c.id)
        .join(connections, connections.c.clinician_id == b.c.clinician_id)
        .where(b.c.id.in_(ids), connections.c.push_bookings.is_(True), connections.c.active.is_(True))
    )
    holding = select(pushes.c.connection_id, pushes.c.booking_id).where(pushes.c.booking_id.in_(ids))
    return [(connection_id, booking_id) for connection_id, booking_id in session.execute(union(clinicians_calendars, holding))]


def mark_pushes_pending(session: Session, pairs: Iterable[tuple[str, str]], now: datetime) -> None:
    """(connection id, booking id) pairs are due to be pushed now (inserted or reset to pending)."""
    rows = [{"connection_id": connection_id, "booking_id": booking_id, "status": "pending", "attempts": 0,
             "due_at": now, "on_calendar": False} for connection_id, booking_id in sorted(set(pairs))]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(pushes).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[pushes.c.connection_id, pushes.c.booking_id],
        set_={"status": "pending", "attempts": 0, "due_at": now, "last_error": None},
    )
    session.execute(statement)


def claim_due_pushes(session: Session, now: datetime, lease_until: datetime, limit: int) -> list[RowMapping]:
    """Due pushes with what a push needs (the calendar's credentials, the booking's current state),
    leased to this worker until ``lease_until``."""
    due = (
        select(pushes.c.connection_id, pushes.c.booking_id)
        .join(connections, connections.c.id == pushes.c.connection_id)
        .where(
            pushes.c.status == "pending", pushes.c.due_at <= now,
            or_(pushes.c.claimed_until.is_(None), pushes.c.claimed_until < now),
            connections.c.active.is_(True),
        )
        .order_by(pushes.c.due_at, pushes.c.booking_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=pushes, skip_locked=True)
    keys = session.execute(due).all()
    if not keys:
        return []
    for connection_id, booking_id in keys:
        session.execute(update(pushes).where(pushes.c.connection_id == connection_id, pushes.c.booking_id == booking_id)
                        .values(claimed_until=lease_until))
    b, loc = tables.bookings, tables.locations
    claimed = (
        select(
            pushes.c.connection_id, pushes.c.booking_id, pushes.c.attempts, pushes.c.on_calendar, pushes.c.due_at,
            connections.c.url, connections.c.username, connections.c.password_sealed,
            connections.c.clinician_id.label("calendar_clinician_id"),
            b.c.clinician_id, b.c.status.label("booking_status"), b.c.start, b.c.end, b.c.sequence,
            loc.c.timezone,
        )
        .join(connections, connections.c.id == pushes.c.connection_id)
        .join(b, b.c.id == pushes.c.booking_id)
        .join(loc, loc.c.id == b.c.location_id)
        .where(or_(*[(pushes.c.connection_id == c) & (pushes.c.booking_id == k) for c, k in keys]))
        .order_by(pushes.c.due_at, pushes.c.booking_id)
    )
    return list(session.execute(claimed).mappings())


def push_row(session: Session, connection_id: str, booking_id: str) -> RowMapping | None:
    query = select(pushes).where(pushes.c.connection_id == connection_id, pushes.c.booking_id == booking_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query).mappings().first()


def update_push(session: Session, connection_id: str, booking_id: str, values: Mapping[str, Any]) -> None:
    session.execute(update(pushes).where(pushes.c.connection_id == connection_id, pushes.c.booking_id == booking_id)
                    .values(**values))


def retry_failed_pushes(session: Session, connection_id: str, now: datetime) -> None:
    """The calendar's failed pushes are due again (the clinic fixed the calendar and synced it)."""
    session.execute(update(pushes).where(pushes.c.connection_id == connection_id, pushes.c.status == "failed")
                    .values(status="pending", attempts=0, due_at=now, claimed_until=None))


def pending_pushes_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(pushes).where(pushes.c.status == "pending")).scalar_one()


def _lease(session: Session, table, query, lease_until: datetime) -> list[RowMapping]:
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    session.execute(update(table).where(table.c.id.in_(ids)).values(claimed_until=lease_until))
    return list(session.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.next_sync_at, table.c.id)).mappings())
