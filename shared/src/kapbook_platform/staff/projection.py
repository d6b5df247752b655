"""Keeps a service's ``staff_credentials`` table in step with the booking service's staff events."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.messaging.consumer import EventHandler
from kapbook_platform.staff.signing import credential_data_is_signed

log = logging.getLogger("kapbook.staff")


def signed_only(verify_key: str, handler: EventHandler) -> EventHandler:
    """Run ``handler`` only for an event whose data the booking service signed (finding 7: anyone who
    can publish to the broker could otherwise mint a credential); refuse others with a warning."""

    def handle(session: Session, envelope: Envelope) -> None:
        if not credential_data_is_signed(verify_key, envelope.data):
            log.warning("staff credential event refused: not signed by the booking service",
                        extra={"event_id": envelope.id, "event_type": envelope.type, "source": envelope.source})
            return
        handler(session, envelope)

    return handle


def credential_issued_handler(table: Table, tombstones: Table) -> EventHandler:
    """Event handler: project an issued credential (idempotent upsert). A credential revoked already
    (its tombstone is there, whichever event came first) is stored revoked: it never comes back."""

    def handle(session: Session, envelope: Envelope) -> None:
        data = envelope.data
        exists = session.execute(select(table.c.credential_id).where(table.c.credential_id == data["credential_id"])).first()
        if exists:
            return
        tombstone = session.execute(
            select(tombstones.c.revoked_at).where(tombstones.c.credential_id == data["credential_id"])).scalar()
        session.execute(
            table.insert().values(
                credential_id=data["credential_id"],
                staff_id=data["staff_id"],
                staff_name=data["staff_name"],
                role=data["role"],
                token_sha256=data["token_sha256"],
                issued_at=datetime.fromisoformat(data["issued_at"]),
                expires_at=datetime.fromisoformat(data["expires_at"]) if data.get("expires_at") else None,
                revoked_at=tombstone,
                scopes=data.get("scopes"),  # absent or null (older events): the role's full rights
            )
        )

    return handle


def credential_revoked_handler(table: Table, tombstones: Table) -> EventHandler:
    """Event handler: revoke the credential, and leave a tombstone for an "issued" event still on its way."""

    def handle(session: Session, envelope: Envelope) -> None:
        credential_id = envelope.data["credential_id"]
        revoked_at = datetime.fromisoformat(envelope.data["revoked_at"])
        session.execute(update(table).where(table.c.credential_id == credential_id, table.c.revoked_at.is_(None))
                        .values(revoked_at=revoked_at))
        if session.execute(select(tombstones.c.credential_id).where(tombstones.c.credential_id == credential_id)).first() is None:
            session.execute(tombstones.insert().values(credential_id=credential_id, revoked_at=revoked_at))

    return handle


def staff_event_handlers(table: Table, tombstones: Table, verify_key: str) -> dict[str, EventHandler]:
    """The credential events' handlers, each refusing an event not signed with ``verify_key``'s pair."""
    return {
        EventType.STAFF_CREDENTIAL_ISSUED: signed_only(verify_key, credential_issued_handler(table, tombstones)),
        EventType.STAFF_CREDENTIAL_REVOKED: signed_only(verify_key, credential_revoked_handler(table, tombstones)),
    }
