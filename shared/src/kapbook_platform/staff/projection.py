"""Keeps a service's ``staff_credentials`` table in step with the booking service's staff events."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.messaging.consumer import EventHandler


def credential_issued_handler(table: Table) -> EventHandler:
    """Event handler: project an issued credential (idempotent upsert)."""

    def handle(session: Session, envelope: Envelope) -> None:
        data = envelope.data
        exists = session.execute(select(table.c.credential_id).where(table.c.credential_id == data["credential_id"])).first()
        if exists:
            return
        session.execute(
            table.insert().values(
                credential_id=data["credential_id"],
                staff_id=data["staff_id"],
                staff_name=data["staff_name"],
                role=data["role"],
                token_sha256=data["token_sha256"],
                issued_at=datetime.fromisoformat(data["issued_at"]),
            )
        )

    return handle


def credential_revoked_handler(table: Table) -> EventHandler:
    def handle(session: Session, envelope: Envelope) -> None:
        session.execute(
            update(table)
            .where(table.c.credential_id == envelope.data["credential_id"])
            .values(revoked_at=datetime.fromisoformat(envelope.data["revoked_at"]))
        )

    return handle


def staff_event_handlers(table: Table) -> dict[str, EventHandler]:
    return {
        EventType.STAFF_CREDENTIAL_ISSUED: credential_issued_handler(table),
        EventType.STAFF_CREDENTIAL_REVOKED: credential_revoked_handler(table),
    }
