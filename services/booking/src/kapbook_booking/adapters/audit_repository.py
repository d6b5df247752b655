"""Reads of the audit log for the admin audit page: filtered, newest first, one page at a time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class AuditFilter:
    """Exact actor and action, a target prefix ("booking:" or "booking:<id>"), ``since <= at < until``."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _where(table: Table, wanted: AuditFilter) -> list:
    clauses = []
    if wanted.actor:
        clauses.append(table.c.actor == wanted.actor)
    if wanted.action:
        clauses.append(table.c.action == wanted.action)
    if wanted.target:
        escaped = wanted.target.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(table.c.target.like(f"{escaped}%", escape="\\"))
    if wanted.since is not None:
        clauses.append(table.c.at >= wanted.since)
    if wanted.until is not None:
        clauses.append(table.c.at < wanted.until)
    return clauses


def audit_rows(session: Session, table: Table, wanted: AuditFilter, limit: int | None, offset: int = 0) -> list[RowMapping]:
    """Matching rows, newest first (id breaks ties); ``limit`` None: all of them."""
    query = select(table).where(*_where(table, wanted)).order_by(table.c.at.desc(), table.c.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).mappings())


def count_audit_rows(session: Session, table: Table, wanted: AuditFilter) -> int:
    return session.execute(select(func.count()).select_from(table).where(*_where(table, wanted))).scalar_one()


def audit_actions(session: Session, table: Table) -> list[str]:
    """Every action that occurs, for the filter's list."""
    return list(session.execute(select(table.c.action).distinct().order_by(table.c.action)).scalars())
