"""Benchmark figures: the records each bench script writes with ``--json``, and the aims they are held to.

A record is one figure: ``{"metric", "setup", "value", "unit"}`` plus any detail a reader or an
aim needs (``"database"``, ``"transport"``, ...); an optional ``"note"`` is shown next to the
figure in ``make bench``'s table. Not a benchmark itself.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def record(metric: str, setup: str, value: float, unit: str, **detail: Any) -> dict[str, Any]:
    """One figure, as written to the JSON file."""
    return {"metric": metric, "setup": setup, "value": value, "unit": unit, **detail}


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to PATH as JSON records")


def write_json(path: Path | None, records: list[dict[str, Any]]) -> None:
    """Write ``records`` to ``path`` (nothing when no path was given)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, indent=2) + "\n")


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Aim:
    """A target from the issues, for one metric (and only the records whose details match ``where``)."""

    metric: str
    comparison: str  # "<", "<=" or ">="
    limit: float
    unit: str
    where: dict[str, Any] = field(default_factory=dict)

    def applies_to(self, figure: dict[str, Any]) -> bool:
        return figure["metric"] == self.metric and all(figure.get(k) == v for k, v in self.where.items())

    def met_by(self, value: float) -> bool:
        if self.comparison == "<":
            return value < self.limit
        return value <= self.limit if self.comparison == "<=" else value >= self.limit

    def __str__(self) -> str:
        return f"{self.comparison} {self.limit:g} {self.unit}"


AIMS = (
    Aim("availability p50", "<", 20, "ms"),
    Aim("availability p99", "<", 50, "ms"),
    Aim("4-week availability / engine alone p50", "<=", 1.3, "x"),  # issue 16 §1: the same question's engine time
    Aim("availability with 1 year of history / none", "<=", 1.1, "x"),  # issue 16 §1: history must not matter
    Aim("commit->planned lag p99", "<=", 100, "ms"),  # issue 16: both transports, relay woken on commit
    Aim("commit->email lag p99", "<=", 500, "ms"),
    # Issue 16 §2: one dispatcher, against bare smtplib sending the same emails in the same run.
    Aim("email dispatch rate", ">=", 150, "emails/s", {"dispatchers": 1}),
    Aim("email dispatch / bare smtplib", ">=", 60, "%", {"dispatchers": 1}),
    Aim("email dispatch CPU per email", "<=", 5, "ms"),
    Aim("series proposal / availability p50", "<=", 3, "x"),
    Aim("series/single throughput per session", ">=", 30, "%"),
    Aim("FHIR Slot / availability", "<", 2.0001, "x"),  # issue 15: within 2x (2.0 itself passes)
    Aim("50 calendars / none", "<=", 1.2, "x"),  # issue 15: syncing is out of band
    Aim("director report p50", "<", 500, "ms"),  # issue 13 §3: three months of the large clinic
    Aim("waitlist match p99", "<", 50, "ms"),  # issue 13 §1: 5,000 waiting entries
    Aim("1-week availability / healthz p50", "<=", 3, "x"),  # issue 16 §1: through gunicorn
    Aim("1-week availability p99", "<=", 25, "ms"),
)


def aim_for(figure: dict[str, Any]) -> Aim | None:
    """The aim ``figure`` is held to, or None when it is only reported."""
    return next((aim for aim in AIMS if aim.applies_to(figure)), None)
