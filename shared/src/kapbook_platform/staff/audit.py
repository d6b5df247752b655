"""The audit log: one row for each thing staff did or saw, written in the caller's transaction."""
from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from kapbook_platform.clock import utc_now


def record_audit(session: Session, table: Table, actor: str, action: str, target: str, detail: dict | None = None) -> None:
    session.execute(table.insert().values(at=utc_now(), actor=actor, action=action, target=target, detail=detail))


def record_read(session: Session, table: Table, actor: str, resource: str, resource_id: str, ip: str | None,
                detail: dict | None = None) -> None:
    """A staff read of patient data: ``<resource>.viewed`` on ``<resource>:<id>`` with the caller's IP, never the content."""
    record_audit(session, table, actor, f"{resource}.viewed", f"{resource}:{resource_id}", {"ip": ip, **(detail or {})})


def audit_read(sessions: sessionmaker[Session], table: Table, actor: str, resource: str, resource_id: str,
               ip: str | None, detail: dict | None = None) -> None:
    """``record_read`` in its own short transaction, for reads that ran on a read-only session."""
    with sessions.begin() as session:
        record_read(session, table, actor, resource, resource_id, ip, detail)
