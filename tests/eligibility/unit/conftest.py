"""Shared fixtures for the eligibility domain unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from kapbook_eligibility.domain.questionnaire import Questionnaire, load_questionnaire
from kapbook_eligibility.domain.rules import RuleSet, load_default_ruleset

TODAY = date(2026, 11, 20)

MEDICAL_FLAGS = (
    "pregnant",
    "breastfeeding",
    "aneurysmal_vascular_disease",
    "intracerebral_hemorrhage",
    "ketamine_hypersensitivity",
    "psychosis_history",
    "psychosis_family_history",
    "bipolar_history",
    "substance_use_disorder",
    "hypertension",
    "cardiac_disease",
    "liver_disease",
)


def eligible_answers() -> dict[str, Any]:
    """A complete answer set with nothing of concern: decides `eligible`."""
    answers: dict[str, Any] = {"date_of_birth": "1990-06-15"}
    answers |= {f"phq9_{n}": 0 for n in range(1, 10)}
    answers |= {f"gad7_{n}": 0 for n in range(1, 8)}
    answers |= {"cssrs_1": False, "cssrs_2": False, "cssrs_6": False}
    answers |= {flag: False for flag in MEDICAL_FLAGS}
    answers |= {"medications": [], "failed_antidepressant_trials": 0}
    return answers


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture(scope="session")
def questionnaire() -> Questionnaire:
    return load_questionnaire()


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return load_default_ruleset()


@pytest.fixture
def answers() -> dict[str, Any]:
    """A fresh eligible answer set that a test may change freely."""
    return eligible_answers()


@pytest.fixture
def with_settings(ruleset: RuleSet) -> Callable[..., RuleSet]:
    """Build a rule set from the default with some settings changed."""

    def build(**changes: Any) -> RuleSet:
        data = ruleset.to_dict()
        data["settings"] |= changes
        data["version"] = "test-custom"
        return RuleSet.from_dict(data)

    return build
