"""The eligibility configuration refuses what it cannot safely run with."""
from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from kapbook_eligibility.bootstrap import crisis_resources_for
from kapbook_eligibility.config import DEVELOPMENT_ENCRYPTION_KEY, EligibilityConfig
from kapbook_platform.config import ConfigError
from support.production import production_environment

PRODUCTION = production_environment("eligibility") | {"ELIGIBILITY_ENCRYPTION_KEYS": DEVELOPMENT_ENCRYPTION_KEY}


def test_production_refuses_the_development_key():
    with pytest.raises(ConfigError, match="real key in production"):
        EligibilityConfig.from_env(PRODUCTION)


def test_production_refuses_the_development_key_even_as_an_old_key():
    keys = f"{Fernet.generate_key().decode()},{DEVELOPMENT_ENCRYPTION_KEY}"
    with pytest.raises(ConfigError):
        EligibilityConfig.from_env(PRODUCTION | {"ELIGIBILITY_ENCRYPTION_KEYS": keys})


def test_production_starts_with_a_real_key():
    key = Fernet.generate_key().decode()
    config = EligibilityConfig.from_env(PRODUCTION | {"ELIGIBILITY_ENCRYPTION_KEYS": key})
    assert config.encryption_keys == (key,)


def test_keys_are_read_newest_first():
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    config = EligibilityConfig.from_env({"ELIGIBILITY_ENCRYPTION_KEYS": f"{new}, {old}"})
    assert config.encryption_keys == (new, old)


def test_a_value_that_is_not_a_fernet_key_is_refused_without_being_echoed():
    with pytest.raises(ConfigError) as raised:
        EligibilityConfig.from_env({"ELIGIBILITY_ENCRYPTION_KEYS": "hunter2-not-a-key"})
    assert "key 1 is not a Fernet key" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_no_key_at_all_is_refused():
    with pytest.raises(ConfigError, match="at least one key"):
        EligibilityConfig.from_env({"ELIGIBILITY_ENCRYPTION_KEYS": " , "})


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ConfigError, match="ELIGIBILITY_TIMEZONE"):
        EligibilityConfig.from_env({"ELIGIBILITY_TIMEZONE": "Mars/Olympus"})


def test_the_default_region_shows_988_and_911():
    resources = crisis_resources_for(EligibilityConfig.from_env({}))
    assert {resource.phone for resource in resources} == {"988", "911"}


def test_a_region_without_resources_is_refused_rather_than_shown_another_countrys():
    with pytest.raises(ConfigError, match="ELIGIBILITY_CRISIS_REGION"):
        crisis_resources_for(EligibilityConfig.from_env({"ELIGIBILITY_CRISIS_REGION": "GB"}))


def test_a_clinic_file_adds_its_region(tmp_path):
    path = tmp_path / "crisis.json"
    path.write_text(json.dumps({"regions": {"GB": [
        {"name": "Samaritans", "instructions": "Call 116 123, free, any time.", "phone": "116 123"},
        {"name": "Emergency services", "instructions": "In immediate danger, call 999.", "phone": "999"},
    ]}}))
    config = EligibilityConfig.from_env({"ELIGIBILITY_CRISIS_REGION": "GB", "ELIGIBILITY_CRISIS_RESOURCES_FILE": str(path)})

    assert [resource.phone for resource in crisis_resources_for(config)] == ["116 123", "999"]


def test_an_unreadable_crisis_file_is_refused(tmp_path):
    path = tmp_path / "crisis.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="ELIGIBILITY_CRISIS_RESOURCES_FILE"):
        crisis_resources_for(EligibilityConfig.from_env({"ELIGIBILITY_CRISIS_RESOURCES_FILE": str(path)}))
