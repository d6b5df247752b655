"""What every staff write shares: one unit of work, an audit row, 404s and in-use refusals."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uuid

from sqlalchemy import Column, Table
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.service_layer.errors import ConcurrentChange, Conflict, Invalid, NotFound
from kapbook_platform.database import read_only
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import StaffPrincipal


@dataclass(frozen=True)
class Reference:
    """Rows of ``column`` point at the record; ``label`` names them in a message ("bookings")."""

    column: Column
    label: str


@dataclass(frozen=True)
class StaffWrites:
    """Units of work for staff changes; each change leaves one audit row."""

    sessions: sessionmaker[Session]
    audit_log: Table

    def reading(self) -> Session:
        """A session for queries only: on SQLite it takes no write lock."""
        return self.sessions(bind=read_only(self.sessions.kw["bind"]))

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Commit on success; a constraint another writer won becomes a 409, not a 500."""
        try:
            with self.sessions.begin() as session:
                yield session
        except IntegrityError:
            raise ConcurrentChange(
                "Another change to the same records happened at the same moment; reload and try again."
            ) from None

    def audit(self, session: Session, actor: StaffPrincipal, action: str, target: str, fields: Iterable[str] = ()) -> None:
        """Who changed what: field names only, never their content."""
        detail = {"staff_name": actor.name, "role": actor.role, "fields": sorted(fields)}
        record_audit(session, self.audit_log, actor.staff_id, action, target, detail)

    def insert(self, session: Session, actor: StaffPrincipal, table: Table, kind: str, values: Mapping[str, Any]) -> str:
        """Insert a row under a new id and audit ``<kind>.created``; returns the id."""
        record_id = str(uuid.uuid4())
        repo.insert_row(session, table, {"id": record_id, **values})
        self.audit(session, actor, f"{kind}.created", f"{kind}:{record_id}", values)
        return record_id

    def update(
        self,
        session: Session,
        actor: StaffPrincipal,
        table: Table,
        kind: str,
        row: RowMapping,
        changes: Mapping[str, Any],
        also_changed: Iterable[str] = (),
    ) -> None:
        """Write the fields that really change and audit ``<kind>.updated`` (nothing if none do).

        ``also_changed`` names changes made elsewhere (a link table) for the same audit row.
        """
        changed = changed_fields(row, changes)
        if changed:
            repo.update_row(session, table, row["id"], changed)
        fields = [*changed, *also_changed]
        if fields:
            self.audit(session, actor, f"{kind}.updated", f"{kind}:{row['id']}", fields)

    def delete(self, session: Session, actor: StaffPrincipal, table: Table, kind: str, record_id: str) -> None:
        """Delete the row and audit ``<kind>.deleted``."""
        repo.delete_row(session, table, record_id)
        self.audit(session, actor, f"{kind}.deleted", f"{kind}:{record_id}")


def fetch_or_404(session: Session, table: Table, record_id: str, label: str, *, lock: bool = False) -> RowMapping:
    """The row with this id; ``lock`` serialises writers of the same record on PostgreSQL."""
    row = repo.row_by_id(session, table, record_id, lock=lock)
    if row is None:
        raise NotFound(f"There is no {label} with id {record_id!r}.")
    return row


def require_exists(session: Session, table: Table, record_id: str, field: str, label: str) -> RowMapping:
    """A row a request body names; a missing one is a 422 on that field."""
    row = repo.row_by_id(session, table, record_id)
    if row is None:
        raise Invalid(f"There is no {label} with id {record_id!r}.", errors={field: [f"Unknown {label}."]})
    return row


def refuse_if_referenced(session: Session, record_id: str, what: str, references: Iterable[Reference], hint: str) -> None:
    """409 when other rows still point at the record, saying which and how many."""
    counts = [(ref.label, repo.count_referencing(session, ref.column, record_id)) for ref in references]
    in_use = [f"{label}: {count}" for label, count in counts if count]
    if in_use:
        raise Conflict(f"{what} is still in use ({', '.join(in_use)}). {hint}", code="in_use")


def changed_fields(row: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``changes`` that differs from ``row``."""
    return {name: value for name, value in changes.items() if row[name] != value}
