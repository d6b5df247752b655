"""The audit trail: reads of patient data leave a row (who, what, when, from where), admins read the rows."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kapbook_booking.adapters import audit_repository as audit_repo
from kapbook_booking.adapters.audit_repository import AuditFilter
from kapbook_booking.service_layer.staff_records import StaffWrites
from kapbook_platform.staff.audit import audit_read
from kapbook_platform.staff.principal import StaffPrincipal

__all__ = ["AuditFilter", "AuditPage", "AuditTrail"]  # AuditFilter: the console builds one from its query string

PAGE_SIZE = 50
EXPORT_BATCH = 1000

# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    actions: list[str]


@dataclass(frozen=True)
class AuditTrail:
    writes: StaffWrites

    def staff_read(self, staff: StaffPrincipal, resource: str, resource_id: str, ip: str | None) -> None:
        """A staff member saw ``resource`` (booking, calendar ...): the name of it, never its content."""
        audit_read(self.writes.sessions, self.writes.audit_log, staff.staff_id, resource, resource_id, ip,
                   {"staff_name": staff.name, "role": staff.role})

    def feed_read(self, clinician_id: str, ip: str | None) -> None:
        """A calendar app fetched a clinician's feed: the secret URL is the only credential, so the actor is the feed."""
        audit_read(self.writes.sessions, self.writes.audit_log, f"calendar_feed:{clinician_id}", "calendar_feed",
                   clinician_id, ip)

    def page(self, wanted: AuditFilter, page: int) -> AuditPage:
        """One page (from 1) of matching rows, newest first."""
        with self.writes.reading() as session:
            total = audit_repo.count_audit_rows(session, self.writes.audit_log, wanted)
            pages = max(1, -(-total // PAGE_SIZE))
            page = min(max(page, 1), pages)
            rows = audit_repo.audit_rows(session, self.writes.audit_log, wanted, PAGE_SIZE, (page - 1) * PAGE_SIZE)
            actions = audit_repo.audit_actions(session, self.writes.audit_log)
        return AuditPage([dict(row) for row in rows], total, page, pages, actions)

    def export(self, wanted: AuditFilter) -> Iterator[list[str]]:
        """The CSV rows (header first) of every matching row, newest first, each cell safe to open in a spreadsheet."""
        yield ["id", "at", "actor", "action", "target", "ip", "detail"]
        offset = 0
        while True:
            with self.writes.reading() as session:
                batch = audit_repo.audit_rows(session, self.writes.audit_log, wanted, EXPORT_BATCH, offset)
            for row in batch:
                yield [csv_safe(cell) for cell in csv_cells(row)]
            if len(batch) < EXPORT_BATCH:
                return
            offset += EXPORT_BATCH


def csv_cells(row: Any) -> list[str]:
    detail = dict(row["detail"] or {})
    ip = detail.pop("ip", None)
    rest = "; ".join(f"{key}={value}" for key, value in sorted(detail.items()))
    return [str(row["id"]), row["at"].isoformat(), row["actor"], row["action"], row["target"], ip or "", rest]


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a quote before it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
