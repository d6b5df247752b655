"""Use cases for the clinician-owned rule set: the one in force, publishing a new version, the history."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kapbook_eligibility.adapters import repository as repo
from kapbook_eligibility.domain import InvalidRuleSet, RuleSet, load_default_ruleset
from kapbook_eligibility.service_layer.errors import ConcurrentChange, RuleSetRejected, RuleSetVersionTaken
from kapbook_platform.clock import Clock
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import StaffPrincipal

log = logging.getLogger(__name__)
SEEDED_BY = "Kapbook (packaged default)"


@dataclass
class RuleSetService:
    sessions: sessionmaker[Session]
    audit_log: Table
    clock: Clock

    def in_force(self, session: Session) -> RuleSet:
        """The active rule set; on first use, the packaged default is stored and activated."""
        row = repo.active_rule_set(session)
        if row is None:
            self._seed(session)
            row = repo.active_rule_set(session)
        if row is None:
            raise RuntimeError("no active rule set, and the packaged default could not be stored")
        return RuleSet.from_dict({"version": row["version"], "settings": row["settings"]})

    def ensure_seeded(self) -> str:
        """Make sure a rule set is in force (run on migrate); returns its version."""
        with self.sessions.begin() as session:
            return self.in_force(session).version

    def publish(self, data: Mapping[str, Any], author: StaffPrincipal) -> dict[str, Any]:
        """Validate and store a new rule set version; it is in force from now on."""
        try:
            rule_set = RuleSet.from_dict(data)
        except InvalidRuleSet as invalid:
            raise RuleSetRejected("The rule set is not valid; see errors.", {"_schema": invalid.problems}) from None
        try:
            with self.sessions.begin() as session:
                if repo.rule_set_exists(session, rule_set.version):
                    raise RuleSetVersionTaken(f"A rule set version {rule_set.version!r} exists already; versions are never reused.")
                row = self._row(rule_set, created_by=author.name[:100])
                repo.insert_active_rule_set(session, row)
                record_audit(session, self.audit_log, author.staff_id, "rule_set.published", f"rule_set:{rule_set.version}",
                             {"staff_name": author.name, "role": author.role})
        except IntegrityError:
            raise ConcurrentChange("Another rule set was published at the same moment; reload and try again.") from None
        log.info("rule set published", extra={"ruleset_version": rule_set.version})
        return _view(row | {"active": True})

    def history(self) -> list[dict[str, Any]]:
        """Every stored version, newest first."""
        with self.sessions() as session:
            return [_view(row) for row in repo.all_rule_sets(session)]

    def _seed(self, session: Session) -> None:
        default = load_default_ruleset()
        try:
            # A savepoint: if another process seeds at the same moment, its row wins and ours goes.
            with session.begin_nested():
                repo.insert_active_rule_set(session, self._row(default, created_by=SEEDED_BY))
        except IntegrityError:
            log.info("packaged default rule set was seeded concurrently")
            return
        log.info("packaged default rule set seeded", extra={"ruleset_version": default.version})

    def _row(self, rule_set: RuleSet, created_by: str) -> dict[str, Any]:
        data = rule_set.to_dict()
        return {"version": data["version"], "settings": data["settings"], "created_by": created_by, "created_at": self.clock()}


def _view(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    return {key: row[key] for key in ("version", "settings", "created_by", "created_at", "active")}
