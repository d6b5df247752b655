"""Every query about webhook endpoints, their deliveries and the attempts to send them."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_booking.adapters import tables

endpoints = tables.webhook_endpoints
deliveries = tables.webhook_deliveries
attempts = tables.webhook_attempts


def all_endpoints(session: Session) -> list[RowMapping]:
    return list(session.execute(select(endpoints).order_by(endpoints.c.created_at, endpoints.c.id)).mappings())


def active_endpoints_for(session: Session, public_name: str) -> list[RowMapping]:
    """Active endpoints subscribed to ``public_name`` (the JSON list is filtered here, portably)."""
    rows = session.execute(select(endpoints).where(endpoints.c.active.is_(True))).mappings()
    return [row for row in rows if public_name in row["event_types"]]


def insert_delivery(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(deliveries.insert().values(**values))


def delete_endpoint_with_history(session: Session, endpoint_id: str) -> None:
    """Attempts, deliveries, then the endpoint (SQLite does not enforce ON DELETE CASCADE here)."""
    delivery_ids = select(deliveries.c.id).where(deliveries.c.endpoint_id == endpoint_id)
    session.execute(delete(attempts).where(attempts.c.delivery_id.in_(delivery_ids)))
    session.execute(delete(deliveries).where(deliveries.c.endpoint_id == endpoint_id))
    session.execute(delete(endpoints).where(endpoints.c.id == endpoint_id))


def claim_due(session: Session, now: datetime, lease_until: datetime, limit: int) -> list[RowMapping]:
    """Due pending deliveries of active endpoints, leased to this worker until ``lease_until``.

    The lease (``claimed_until``) keeps other workers off them while this one sends with no
    transaction open; a worker that dies leaves them due again once the lease runs out.
    """
    query = (
        select(deliveries.c.id)
        .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
        .where(
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
            endpoints.c.active.is_(True),
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at, deliveries.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=deliveries, skip_locked=True)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    session.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(claimed_until=lease_until))
    claimed = (
        select(
            deliveries.c.id, deliveries.c.endpoint_id, deliveries.c.body, deliveries.c.attempts,
            endpoints.c.url, endpoints.c.secret_sealed, endpoints.c.previous_secret_sealed,
            endpoints.c.previous_secret_expires_at,
        )
        .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
        .where(deliveries.c.id.in_(ids))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
    )
    return list(session.execute(claimed).mappings())


def delivery(session: Session, delivery_id: str, *, lock: bool = False) -> RowMapping | None:
    query = select(deliveries).where(deliveries.c.id == delivery_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query).mappings().first()


def update_delivery(session: Session, delivery_id: str, values: Mapping[str, Any]) -> None:
    session.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def record_attempt(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(attempts.insert().values(**values))


def deliveries_of(session: Session, endpoint_id: str, limit: int) -> list[RowMapping]:
    """The endpoint's newest deliveries, each with its attempts attached as ``attempt_log``."""
    rows = list(session.execute(
        select(deliveries).where(deliveries.c.endpoint_id == endpoint_id)
        .order_by(deliveries.c.created_at.desc(), deliveries.c.id).limit(limit)
    ).mappings())
    log: dict[str, list[dict]] = {row["id"]: [] for row in rows}
    if log:
        query = select(attempts).where(attempts.c.delivery_id.in_(list(log))).order_by(attempts.c.id)
        for attempt in session.execute(query).mappings():
            log[attempt["delivery_id"]].append(dict(attempt))
    return [{**row, "attempt_log": log[row["id"]]} for row in rows]


def bump_endpoint_failures(session: Session, endpoint_id: str) -> int:
    """One more delivery that used up every attempt; returns the run length."""
    session.execute(update(endpoints).where(endpoints.c.id == endpoint_id).values(
        failed_deliveries_in_row=endpoints.c.failed_deliveries_in_row + 1))
    return session.execute(select(endpoints.c.failed_deliveries_in_row).where(endpoints.c.id == endpoint_id)).scalar_one()


def reset_endpoint_failures(session: Session, endpoint_id: str) -> None:
    session.execute(update(endpoints).where(endpoints.c.id == endpoint_id, endpoints.c.failed_deliveries_in_row != 0)
                    .values(failed_deliveries_in_row=0))


def disable_endpoint(session: Session, endpoint_id: str, reason: str, now: datetime) -> bool:
    """Disable an active endpoint; False if it already was (so only one alert is written)."""
    result = session.execute(update(endpoints).where(endpoints.c.id == endpoint_id, endpoints.c.active.is_(True))
                             .values(active=False, disabled_reason=reason, updated_at=now))
    return result.rowcount == 1


def admin_emails(session: Session) -> list[str]:
    """Where alerts for admins go: the staff directory's admins."""
    query = select(tables.staff_members.c.email).where(tables.staff_members.c.role == "admin").order_by(tables.staff_members.c.email)
    return list(session.execute(query).scalars())


def pending_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(deliveries).where(deliveries.c.status == "pending")).scalar_one()
