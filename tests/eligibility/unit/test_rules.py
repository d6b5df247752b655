"""The clinician-owned rule set: defaults, round trip, rejected settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kapbook_eligibility.domain.rules import InvalidRuleSet, RuleSet, RuleSettings, load_default_ruleset


def default_dict() -> dict[str, Any]:
    return load_default_ruleset().to_dict()


def test_default_settings() -> None:
    ruleset = load_default_ruleset()
    assert ruleset.version == "default-2026-11-1"
    assert ruleset.settings == RuleSettings(
        minimum_age=18,
        bp_systolic_review_at=140,
        bp_diastolic_review_at=90,
        benzodiazepine_review_mg=8,
        screening_valid_days=90,
        treatment_resistant_min_trials=2,
    )


def test_round_trip_through_json() -> None:
    ruleset = load_default_ruleset()
    assert RuleSet.from_dict(json.loads(json.dumps(ruleset.to_dict()))) == ruleset


def test_clinician_edited_rule_set_loads() -> None:
    data = default_dict()
    data["version"] = "clinic-42.v3"
    data["settings"] |= {"minimum_age": 21, "bp_systolic_review_at": 150, "benzodiazepine_review_mg": 7.5}
    ruleset = RuleSet.from_dict(data)
    assert ruleset.version == "clinic-42.v3"
    assert (ruleset.settings.minimum_age, ruleset.settings.benzodiazepine_review_mg) == (21, 7.5)
    assert ruleset.to_dict() == data


def test_rule_sets_are_immutable() -> None:
    ruleset = load_default_ruleset()
    with pytest.raises(AttributeError):
        ruleset.settings.minimum_age = 16  # type: ignore[misc]


@pytest.mark.parametrize(
    ("settings_changes", "problem"),
    [
        ({"minimum_age": 17}, "minimum_age must be between 18 and 120."),
        ({"minimum_age": 121}, "minimum_age must be between 18 and 120."),
        ({"minimum_age": 18.0}, "minimum_age must be a whole number."),
        ({"minimum_age": True}, "minimum_age must be a whole number."),
        ({"minimum_age": "18"}, "minimum_age must be a whole number."),
        ({"bp_systolic_review_at": 89}, "bp_systolic_review_at must be between 90 and 250."),
        ({"bp_systolic_review_at": None}, "bp_systolic_review_at must be a whole number."),
        ({"bp_diastolic_review_at": 151}, "bp_diastolic_review_at must be between 50 and 150."),
        (
            {"bp_systolic_review_at": 100, "bp_diastolic_review_at": 100},
            "bp_diastolic_review_at must be below bp_systolic_review_at.",
        ),
        ({"benzodiazepine_review_mg": -1}, "benzodiazepine_review_mg must be between 0 and 200."),
        ({"benzodiazepine_review_mg": float("nan")}, "benzodiazepine_review_mg must be a number."),
        ({"benzodiazepine_review_mg": float("inf")}, "benzodiazepine_review_mg must be a number."),
        ({"benzodiazepine_review_mg": False}, "benzodiazepine_review_mg must be a number."),
        ({"screening_valid_days": 0}, "screening_valid_days must be between 1 and 365."),
        ({"treatment_resistant_min_trials": 0}, "treatment_resistant_min_trials must be between 1 and 20."),
        ({"fasting_hours": 6}, "Unknown settings: fasting_hours."),
    ],
)
def test_rejected_settings(settings_changes: dict[str, Any], problem: str) -> None:
    data = default_dict()
    data["settings"] |= settings_changes
    with pytest.raises(InvalidRuleSet) as raised:
        RuleSet.from_dict(data)
    assert raised.value.problems == [problem]


def test_missing_setting_is_rejected() -> None:
    data = default_dict()
    del data["settings"]["screening_valid_days"]
    with pytest.raises(InvalidRuleSet) as raised:
        RuleSet.from_dict(data)
    assert raised.value.problems == ["screening_valid_days is missing."]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"version": ""}, "version must be"),
        ({"version": "has spaces"}, "version must be"),
        ({"version": 3}, "version must be"),
        ({"version": "x" * 65}, "version must be"),
        ({"settings": []}, "settings must be an object."),
        ({"settings": None}, "settings must be an object."),
        ({"owner": "dr-smith"}, "Unknown fields: owner."),
    ],
)
def test_rejected_rule_set_shapes(changes: dict[str, Any], fragment: str) -> None:
    data = default_dict() | changes
    with pytest.raises(InvalidRuleSet, match=fragment):
        RuleSet.from_dict(data)


@pytest.mark.parametrize("data", [None, [], "rules", 1])
def test_rule_set_must_be_an_object(data: object) -> None:
    with pytest.raises(InvalidRuleSet, match="must be an object"):
        RuleSet.from_dict(data)


def test_every_problem_is_reported_at_once() -> None:
    data = {"version": "", "settings": {"minimum_age": 5}}
    with pytest.raises(InvalidRuleSet) as raised:
        RuleSet.from_dict(data)
    assert len(raised.value.problems) == 7  # version, age, and five missing settings
