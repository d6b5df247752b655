"""Crisis resources: the US default and clinic overrides."""

from __future__ import annotations

from typing import Any

import pytest

from kapbook_eligibility.domain.crisis import (
    CrisisDirectory,
    InvalidCrisisResources,
    crisis_resources,
    default_crisis_directory,
)

SAMARITANS = {"name": "Samaritans", "instructions": "Call 116 123, free, any time.", "phone": "116 123"}
EMERGENCY_GB = {"name": "Emergency services", "instructions": "If you are in immediate danger, call 999.", "phone": "999"}


def test_us_default_offers_988_by_call_and_text_and_911() -> None:
    resources = crisis_resources("US")
    lifeline, emergency = resources
    assert (lifeline.phone, lifeline.sms) == ("988", "988")
    assert "988" in lifeline.instructions
    assert emergency.phone == "911"
    assert "immediate danger" in emergency.instructions


@pytest.mark.parametrize("region", ["US", "us", " us ", None, "", "FR", "XX-99"])
def test_unknown_or_missing_region_falls_back_to_default(region: str | None) -> None:
    assert crisis_resources(region) == crisis_resources("US")


def test_config_adds_a_region() -> None:
    config = {"regions": {"GB": [SAMARITANS, EMERGENCY_GB]}}
    resources = crisis_resources("gb", config)
    assert [resource.phone for resource in resources] == ["116 123", "999"]
    assert crisis_resources("US", config) == crisis_resources("US")


def test_config_replaces_a_region_and_the_default() -> None:
    config = {"default_region": "GB", "regions": {"GB": [SAMARITANS], "US": [EMERGENCY_GB]}}
    assert crisis_resources("US", config)[0].phone == "999"
    assert crisis_resources("FR", config)[0].name == "Samaritans"


def test_overrides_do_not_change_the_packaged_default() -> None:
    crisis_resources("US", {"regions": {"US": [SAMARITANS]}})
    assert crisis_resources("US")[0].phone == "988"
    with pytest.raises(TypeError):
        default_crisis_directory().regions["US"] = ()  # type: ignore[index]


def test_to_dict_leaves_out_empty_contacts() -> None:
    assert crisis_resources("US")[1].to_dict() == {
        "name": "Emergency services",
        "instructions": "If you are in immediate danger, call 911.",
        "phone": "911",
    }


@pytest.mark.parametrize(
    "config",
    [
        pytest.param([], id="not an object"),
        pytest.param({"regions": []}, id="regions not an object"),
        pytest.param({"regions": {"GB": []}}, id="empty region"),
        pytest.param({"regions": {"Britain": [SAMARITANS]}}, id="bad region code"),
        pytest.param({"regions": {"GB": [{"name": "Samaritans"}]}}, id="no instructions"),
        pytest.param({"regions": {"GB": [{**SAMARITANS, "name": " "}]}}, id="blank name"),
        pytest.param({"regions": {"GB": [{**SAMARITANS, "phone": 116123}]}}, id="numeric phone"),
        pytest.param({"regions": {"GB": [{**SAMARITANS, "fax": "1"}]}}, id="unknown field"),
        pytest.param({"regions": {"GB": ["Samaritans"]}}, id="resource not an object"),
        pytest.param({"default_region": "FR"}, id="default without resources"),
        pytest.param({"default_region": "france"}, id="bad default code"),
    ],
)
def test_invalid_config_is_rejected(config: Any) -> None:
    with pytest.raises(InvalidCrisisResources):
        crisis_resources("US", config)


def test_a_standalone_directory_needs_a_default_region() -> None:
    with pytest.raises(InvalidCrisisResources):
        CrisisDirectory.from_dict({"regions": {"GB": [SAMARITANS]}})
