"""The HTTP input schemas: strict numbers, no unknown fields, and no drift from the domain's settings."""
from __future__ import annotations

import dataclasses

import pytest
from marshmallow import ValidationError

from kapbook_eligibility.domain import RuleSettings, load_default_ruleset
from kapbook_eligibility.entrypoints.http.schemas import ReviewRequestSchema, RuleSetRequestSchema, ScreeningRequestSchema


def test_the_rule_settings_schema_has_exactly_the_domains_settings():
    fields = RuleSetRequestSchema().fields["settings"].schema.fields
    assert set(fields) == {field.name for field in dataclasses.fields(RuleSettings)}


def test_the_packaged_default_passes_the_schema():
    assert RuleSetRequestSchema().load(load_default_ruleset().to_dict())["version"] == "default-2026-11-1"


@pytest.mark.parametrize("value", ["8", True, None, float("nan"), float("inf"), [8]])
def test_the_decimal_setting_takes_only_finite_json_numbers(value):
    body = load_default_ruleset().to_dict()
    body["settings"]["benzodiazepine_review_mg"] = value
    with pytest.raises(ValidationError) as raised:
        RuleSetRequestSchema().load(body)
    assert "benzodiazepine_review_mg" in raised.value.messages["settings"]


@pytest.mark.parametrize("value", ["18", 18.0, True])
def test_integer_settings_are_strict(value):
    body = load_default_ruleset().to_dict()
    body["settings"]["minimum_age"] = value
    with pytest.raises(ValidationError):
        RuleSetRequestSchema().load(body)


@pytest.mark.parametrize(
    "schema, body",
    [
        (ScreeningRequestSchema, {"patient": {"name": "P", "email": "p@example.org"}, "answers": {}, "x": 1}),
        (ScreeningRequestSchema, {"patient": {"name": "P", "email": "p@example.org", "x": 1}, "answers": {}}),
        (ReviewRequestSchema, {"decision": "approved", "note": "n", "x": 1}),
    ],
)
def test_unknown_fields_are_errors(schema, body):
    with pytest.raises(ValidationError) as raised:
        schema().load(body)
    assert raised.value.messages
