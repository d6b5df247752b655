"""Production refuses to start on a default secret, for every service and every secret it reads.

tests/platform/test_platform_units.py checks one secret of booking and eligibility each, and
tests/eligibility/unit/test_config.py the development encryption key; here every field marked
secret in every service's config is checked (a new secret is covered by being marked), and each
service's real entry points (the gunicorn app factory and the worker) are started for real.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from kapbook_booking.config import BookingConfig
from kapbook_eligibility.config import EligibilityConfig
from kapbook_platform.config import ConfigError
from kapbook_reminders.config import RemindersConfig

CONFIGS = {"booking": BookingConfig, "eligibility": EligibilityConfig, "reminders": RemindersConfig}
REAL_SECRETS = {
    "KAPBOOK_SERVICE_TOKEN": "svc-7f3b0c1e9a2d4e6f8a0b1c2d3e4f5a6b",
    "BOOKING_SECRET_KEY": "links-1c9e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
    "ELIGIBILITY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}
PRODUCTION = {"KAPBOOK_ENV": "production", "KAPBOOK_BROKER_URL": "amqp://kapbook:pw@rabbitmq:5672//"}
WORKER = {"booking": "worker", "eligibility": "worker", "reminders": "worker"}


def secret_variables(config_class) -> list[str]:
    return [field.metadata["env"] for field in dataclasses.fields(config_class) if field.metadata.get("secret")]


def production_environment(config_class) -> dict[str, str]:
    return PRODUCTION | {name: REAL_SECRETS[name] for name in secret_variables(config_class)}


CASES = [(service, variable) for service, config_class in CONFIGS.items() for variable in secret_variables(config_class)]


def test_every_secret_has_a_real_value_here_and_every_service_reads_the_service_token():
    assert {variable for _service, variable in CASES} == set(REAL_SECRETS)
    assert all((service, "KAPBOOK_SERVICE_TOKEN") in CASES for service in CONFIGS)


@pytest.mark.parametrize("service", sorted(CONFIGS))
def test_production_starts_with_real_secrets(service):
    config = CONFIGS[service].from_env(production_environment(CONFIGS[service]))
    assert config.is_production


@pytest.mark.parametrize("service, variable", CASES)
@pytest.mark.parametrize("value", [None, "", "changeme"], ids=["unset", "empty", "changeme"])
def test_production_refuses_a_default_or_placeholder_secret(service, variable, value):
    environment = production_environment(CONFIGS[service])
    if value is None:
        del environment[variable]
    else:
        environment[variable] = value
    with pytest.raises(ConfigError, match=variable) as refused:
        CONFIGS[service].from_env(environment)
    assert not value or value not in str(refused.value), "the message never echoes a secret"


def entry_point_environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    keep = {name: value for name, value in os.environ.items() if not name.startswith(("KAPBOOK_", "BOOKING_", "ELIGIBILITY_"))}
    return keep | {"KAPBOOK_VAR_DIR": str(tmp_path)} | variables


@pytest.mark.integration
@pytest.mark.parametrize("service", sorted(CONFIGS))
def test_the_real_entry_points_refuse_to_start_on_default_secrets(tmp_path, service):
    environment = entry_point_environment(tmp_path, **PRODUCTION)
    app_factory = subprocess.run(
        [sys.executable, "-c", f"from kapbook_{service}.entrypoints.wsgi import create_app; create_app()"],
        env=environment, capture_output=True, text=True, timeout=60,
    )
    assert app_factory.returncode != 0
    assert "must be set to a real secret in production" in app_factory.stderr or "real key in production" in app_factory.stderr
    worker = subprocess.run(
        [str(Path(sys.executable).parent / f"kapbook-{service}"), WORKER[service]],
        env=environment, capture_output=True, text=True, timeout=60,
    )
    assert worker.returncode != 0
    assert "production" in worker.stderr, worker.stderr[-500:]
