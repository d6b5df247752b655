"""Shared fixtures for the eligibility domain unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from kapbook_eligibility.domain.questionnaire import Questionnaire, load_questionnaire
from kapbook_eligibility.domain.rules import RuleSet, load_default_ruleset
from support import screening_answers

TODAY = date(2026, 11, 20)


def eligible_answers() -> dict[str, Any]:
    """A complete answer set with nothing of concern and every score 0: decides `eligible`."""
    return screening_answers.eligible_answers(
        phq9=0, gad7=0, date_of_birth="1990-06-15", medications=[], failed_antidepressant_trials=0)


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
