"""The clinician-owned, versioned rule set.

Thresholds are data, not code: a clinic's medical director can publish a new
rule set version (stored by the service layer) without a release. Every
decision records the version that produced it, so it can be reproduced.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cache
from importlib import resources
from typing import Any, cast

DEFAULT_RULESET_FILE = "ruleset_default.json"

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Accepted range per setting. The floor of 18 for minimum_age is deliberate:
# being under 18 is an absolute contraindication in the product brief, so a
# rule set may raise the age but never lower it.
_SETTING_RANGES: Mapping[str, tuple[int | float, int | float]] = {
    "minimum_age": (18, 120),
    "bp_systolic_review_at": (90, 250),
    "bp_diastolic_review_at": (50, 150),
    "benzodiazepine_review_mg": (0, 200),
    "screening_valid_days": (1, 365),
    "treatment_resistant_min_trials": (1, 20),
}
# Settings that may be fractional; all others are whole numbers.
_DECIMAL_SETTINGS = frozenset({"benzodiazepine_review_mg"})


class InvalidRuleSet(ValueError):
    """A rule set failed validation; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Invalid rule set: " + " ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class RuleSettings:
    """Clinic-configurable thresholds."""

    minimum_age: int
    # A reading at or above either threshold needs review.
    bp_systolic_review_at: int
    bp_diastolic_review_at: int
    # Daily diazepam-equivalent dose above which the benzodiazepine review
    # reason becomes "benzodiazepine_high_dose".
    benzodiazepine_review_mg: float
    # How long a completed screening counts for booking treatment.
    screening_valid_days: int
    treatment_resistant_min_trials: int


@dataclass(frozen=True)
class RuleSet:
    """A published, versioned set of eligibility settings."""

    version: str
    settings: RuleSettings

    @classmethod
    def from_dict(cls, data: object) -> RuleSet:
        """Validate and build a rule set, e.g. one edited by clinicians and stored.

        Every setting must be present: a stored rule set must reproduce its
        decisions even after the packaged defaults change.
        """
        problems = _problems(data)
        if problems:
            raise InvalidRuleSet(problems)
        valid = cast(Mapping[str, Any], data)
        return cls(version=valid["version"], settings=RuleSettings(**valid["settings"]))

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "settings": asdict(self.settings)}


def load_default_ruleset() -> RuleSet:
    """The packaged default rule set."""
    return _load_packaged(DEFAULT_RULESET_FILE)


@cache
def _load_packaged(filename: str) -> RuleSet:
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return RuleSet.from_dict(json.loads(text))


def _problems(data: object) -> list[str]:
    if not isinstance(data, Mapping):
        return ["A rule set must be an object."]
    problems = []
    unknown = sorted(str(key) for key in data if key not in ("version", "settings"))
    if unknown:
        problems.append(f"Unknown fields: {', '.join(unknown)}.")
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        problems.append(
            "version must be 1-64 letters, digits, dots, dashes or underscores."
        )
    settings = data.get("settings")
    if not isinstance(settings, Mapping):
        problems.append("settings must be an object.")
    else:
        problems.extend(_settings_problems(settings))
    return problems


def _settings_problems(settings: Mapping[Any, Any]) -> list[str]:
    names = [field.name for field in fields(RuleSettings)]
    problems = []
    unknown = sorted(str(key) for key in settings if key not in names)
    if unknown:
        problems.append(f"Unknown settings: {', '.join(unknown)}.")
    for name in names:
        if name not in settings:
            problems.append(f"{name} is missing.")
            continue
        problem = _setting_problem(name, settings[name])
        if problem:
            problems.append(problem)
    if not problems and settings["bp_diastolic_review_at"] >= settings["bp_systolic_review_at"]:
        problems.append("bp_diastolic_review_at must be below bp_systolic_review_at.")
    return problems


def _setting_problem(name: str, value: object) -> str | None:
    low, high = _SETTING_RANGES[name]
    if name in _DECIMAL_SETTINGS:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):  # type: ignore[arg-type]
            return f"{name} must be a number."
    elif type(value) is not int:
        return f"{name} must be a whole number."
    if not low <= value <= high:  # type: ignore[operator]
        return f"{name} must be between {low} and {high}."
    return None
