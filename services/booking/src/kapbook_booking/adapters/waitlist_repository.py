"""Queries for the waitlist: entries, offers (each kept by a hold in ``bookings``) and freed times."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables

entries, offers, openings = tables.waitlist_entries, tables.waitlist_offers, tables.waitlist_openings


def insert_entry(session: Session, values: dict[str, Any]) -> None:
    session.execute(entries.insert().values(**values))


def entry(session: Session, entry_id: str) -> RowMapping | None:
    return session.execute(select(entries).where(entries.c.id == entry_id)).mappings().first()


def entry_for_leave_token(session: Session, token_sha256: str) -> RowMapping | None:
    return session.execute(select(entries).where(entries.c.leave_token_sha256 == token_sha256)).mappings().first()


def set_entry_status(session: Session, entry_id: str, status: str, now: datetime) -> None:
    session.execute(update(entries).where(entries.c.id == entry_id).values(status=status, updated_at=now))


def _waiting(appointment_type_id: str, now: datetime):
    """Entries waiting for this type without an open offer, first joined first."""
    busy = select(offers.c.entry_id).where(offers.c.status == "open")
    return (select(entries).where(entries.c.appointment_type_id == appointment_type_id, entries.c.status == "waiting",
                                  entries.c.expires_at > now, entries.c.id.not_in(busy))
            .order_by(entries.c.joined_at, entries.c.id))


def waiting_of_type(session: Session, appointment_type_id: str, now: datetime) -> list[RowMapping]:
    return list(session.execute(_waiting(appointment_type_id, now)).mappings())


# What matching and the offer read of an entry: not its leave token or bookkeeping times.
MATCH_COLUMNS = (entries.c.id, entries.c.patient_timezone, entries.c.windows, entries.c.clinician_id,
                 entries.c.location_id, entries.c.earliest_date, entries.c.latest_date, entries.c.screening_id,
                 entries.c.patient_name, entries.c.patient_email, entries.c.patient_phone)
FIRST_PAGE, LARGEST_PAGE = 32, 512


def waiting_for(session: Session, appointment_type_id: str, clinician_id: str, location_id: str, start: datetime,
                now: datetime, only_entry: str | None = None) -> Iterator[RowMapping]:
    """The waiting entries a slot with this clinician at this place and time could suit, first joined
    first: none holding an open offer, none offered this very slot before (unless ``only_entry``, staff's
    choice, names the one entry to read).

    Read in pages that grow (32, 128, 512 rows) by the line's order: the caller usually stops at the
    first that wants the slot, so the rest of the line is never read, and a short scan costs one plain
    query (a server-side cursor would cost three round trips)."""
    previous = offers.c.entry_id == entries.c.id
    if only_entry is None:
        previous &= or_(offers.c.status == "open", and_(offers.c.clinician_id == clinician_id, offers.c.start == start))
    else:
        previous &= offers.c.status == "open"
    query = (
        select(*MATCH_COLUMNS, entries.c.joined_at)
        .where(entries.c.appointment_type_id == appointment_type_id, entries.c.status == "waiting",
               entries.c.expires_at > now, ~select(offers.c.id).where(previous).exists(),
               or_(entries.c.clinician_id.is_(None), entries.c.clinician_id == clinician_id),
               or_(entries.c.location_id.is_(None), entries.c.location_id == location_id))
        .order_by(entries.c.joined_at, entries.c.id)
    )
    if only_entry is not None:
        query = query.where(entries.c.id == only_entry)
    page, after = FIRST_PAGE, None
    while True:
        keyset = query if after is None else query.where(
            or_(entries.c.joined_at > after[0], and_(entries.c.joined_at == after[0], entries.c.id > after[1])))
        rows = session.execute(keyset.limit(page)).mappings().all()
        yield from rows
        if len(rows) < page:
            return
        after, page = (rows[-1]["joined_at"], rows[-1]["id"]), min(page * 4, LARGEST_PAGE)


def location(session: Session, location_id: str) -> RowMapping | None:
    return session.execute(select(tables.locations).where(tables.locations.c.id == location_id)).mappings().first()


def types_with_waiting(session: Session, now: datetime) -> list[str]:
    """Appointment type ids that have at least one entry waiting without an open offer."""
    busy = select(offers.c.entry_id).where(offers.c.status == "open")
    query = (select(entries.c.appointment_type_id).distinct()
             .where(entries.c.status == "waiting", entries.c.expires_at > now, entries.c.id.not_in(busy)))
    return sorted(session.execute(query).scalars())


def expire_entries(session: Session, now: datetime) -> int:
    result = session.execute(update(entries).where(entries.c.status == "waiting", entries.c.expires_at <= now)
                             .values(status="expired", updated_at=now))
    return result.rowcount or 0


def entries_of_type(session: Session, appointment_type_id: str, statuses: Iterable[str]) -> list[RowMapping]:
    query = (select(entries).where(entries.c.appointment_type_id == appointment_type_id, entries.c.status.in_(list(statuses)))
             .order_by(entries.c.joined_at, entries.c.id))
    return list(session.execute(query).mappings())


def waiting_counts(session: Session, now: datetime) -> dict[str, int]:
    """Appointment type id → how many entries wait for it."""
    query = (select(entries.c.appointment_type_id, func.count()).where(entries.c.status == "waiting", entries.c.expires_at > now)
             .group_by(entries.c.appointment_type_id))
    return {type_id: count for type_id, count in session.execute(query).all()}


# --- offers ---------------------------------------------------------------------------------


def insert_offer(session: Session, values: dict[str, Any]) -> None:
    session.execute(offers.insert().values(**values))


def offer_for_token(session: Session, token_sha256: str, lock: bool = False) -> RowMapping | None:
    query = select(offers).where(offers.c.token_sha256 == token_sha256)
    return session.execute(query.with_for_update() if lock else query).mappings().first()


def offer(session: Session, offer_id: str) -> RowMapping | None:
    return session.execute(select(offers).where(offers.c.id == offer_id)).mappings().first()


def close_offer(session: Session, offer_id: str, status: str, now: datetime, booking_id: str | None = None) -> bool:
    """Move an open offer to ``status``; False if it was no longer open (another request got there first)."""
    result = session.execute(update(offers).where(offers.c.id == offer_id, offers.c.status == "open")
                             .values(status=status, decided_at=now, booking_id=booking_id))
    return result.rowcount == 1


def lapsed_offers(session: Session, now: datetime, limit: int) -> list[RowMapping]:
    query = select(offers).where(offers.c.status == "open", offers.c.expires_at <= now).order_by(offers.c.expires_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).mappings())


def open_offers_of_entry(session: Session, entry_id: str) -> list[RowMapping]:
    return list(session.execute(select(offers).where(offers.c.entry_id == entry_id, offers.c.status == "open")).mappings())


def offers_of_entries(session: Session, entry_ids: Iterable[str]) -> dict[str, list[RowMapping]]:
    """Each entry's offers, oldest first (the console's offer history)."""
    ids = list(entry_ids)
    history: dict[str, list[RowMapping]] = {entry_id: [] for entry_id in ids}
    if ids:
        query = select(offers).where(offers.c.entry_id.in_(ids)).order_by(offers.c.created_at, offers.c.id)
        for row in session.execute(query).mappings():
            history[row["entry_id"]].append(row)
    return history


# --- freed times ------------------------------------------------------------------------------


def add_opening(session: Session, appointment_type_id: str, clinician_id: str, start: datetime, reason: str, now: datetime) -> None:
    session.execute(openings.insert().values(appointment_type_id=appointment_type_id, clinician_id=clinician_id,
                                             start=start, reason=reason, created_at=now))


def take_openings(session: Session, now: datetime, limit: int) -> list[RowMapping]:
    """The oldest freed times not yet worked through, marked done in this transaction (a crash
    before commit leaves them for the next worker; two workers never take the same one)."""
    oldest = select(openings.c.id).where(openings.c.processed_at.is_(None)).order_by(openings.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    taken = update(openings).where(openings.c.id.in_(oldest)).values(processed_at=now).returning(*openings.c)
    return sorted(session.execute(taken).mappings(), key=lambda row: row["id"])  # RETURNING keeps no order


def anything_due(session: Session, now: datetime) -> bool:
    """Whether a worker cycle has work: a freed time, a lapsed offer or an entry past its days."""
    checks = (
        select(openings.c.id).where(openings.c.processed_at.is_(None)),
        select(offers.c.id).where(offers.c.status == "open", offers.c.expires_at <= now),
        select(entries.c.id).where(entries.c.status == "waiting", entries.c.expires_at <= now),
    )
    return any(session.execute(check.limit(1)).first() is not None for check in checks)


def pending_openings(session: Session) -> int:
    return session.execute(select(func.count()).select_from(openings).where(openings.c.processed_at.is_(None))).scalar_one()


def booking_starts(session: Session, booking_ids: Iterable[str]) -> list[RowMapping]:
    """(appointment type, clinician, start) of these bookings: what a series cancellation freed."""
    bookings = tables.bookings
    query = select(bookings.c.appointment_type_id, bookings.c.clinician_id, bookings.c.start).where(
        and_(bookings.c.id.in_(list(booking_ids)), bookings.c.status == "cancelled"))
    return list(session.execute(query).mappings())
