"""The audit log: one row for each thing staff did or saw, written in the caller's transaction."""
from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.orm import Session

from kapbook_platform.clock import utc_now


def record_audit(session: Session, table: Table, actor: str, action: str, target: str, detail: dict | None = None) -> None:
    session.execute(table.insert().values(at=utc_now(), actor=actor, action=action, target=target, detail=detail))
