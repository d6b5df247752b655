"""Production refuses to start on a default secret, for every service and every secret it reads.

tests/platform/test_platform_units.py checks one secret of booking and eligibility each, and
tests/eligibility/unit/test_config.py the development encryption key; here every field marked
secret in every service's config is checked (a new secret is covered by being marked), and each
service's real entry points (the gunicorn app factory and the worker) are started for real.

Finding 10 of the security review: production also refuses short and placeholder secrets, an http
public URL, SQLite, ``memory://`` rate limits, SMTP without TLS and the placeholder video host,
each with a message naming its variable; KAPBOOK_LOCAL_TRIAL=1 (docker compose) allows only the
http://localhost URL, SMTP to a sink without TLS and the placeholder video host.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from kapbook_booking.config import BookingConfig
from kapbook_eligibility.config import EligibilityConfig
from kapbook_platform.config import MIN_SECRET_LENGTH, ConfigError, PlatformConfig
from kapbook_platform.web.ratelimit import install_rate_limits
from kapbook_reminders.config import RemindersConfig
from support import production

CONFIGS = {"booking": BookingConfig, "eligibility": EligibilityConfig, "reminders": RemindersConfig}
REAL_SECRETS = production.REAL_SECRETS
PRODUCTION = {"KAPBOOK_ENV": "production", "KAPBOOK_BROKER_URL": "amqp://kapbook:pw@rabbitmq:5672//"}
WORKER = {"booking": "worker", "eligibility": "worker", "reminders": "worker"}


def secret_variables(config_class) -> list[str]:
    return [field.metadata["env"] for field in dataclasses.fields(config_class) if field.metadata.get("secret")]


def production_environment(config_class) -> dict[str, str]:
    return production.production_environment(config_class.service_name)


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


def test_the_support_environment_sets_every_secret_of_each_service():
    for service, config_class in CONFIGS.items():
        assert set(production.SECRETS_OF[service]) == set(secret_variables(config_class))


def _refused(service: str, changes: dict[str, str | None]) -> str:
    environment = production_environment(CONFIGS[service])
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    with pytest.raises(ConfigError) as refused:
        CONFIGS[service].from_env(environment)
    return str(refused.value)


SHORT = "k" * (MIN_SECRET_LENGTH - 1)
PLACEHOLDER = "replace-with-a-long-random-string"  # deploy/compose.env.example


@pytest.mark.parametrize("service, variable", [case for case in CASES if case[1] != "ELIGIBILITY_ENCRYPTION_KEYS"])
@pytest.mark.parametrize("value", [SHORT, PLACEHOLDER, "dev-only-but-quite-long-0123456789abcdef"], ids=["short", "compose-placeholder", "dev-only"])
def test_production_refuses_a_short_or_placeholder_secret(service, variable, value):
    message = _refused(service, {variable: value})
    assert variable in message and value not in message


def test_production_refuses_the_compose_placeholder_encryption_key():
    message = _refused("eligibility", {"ELIGIBILITY_ENCRYPTION_KEYS": "replace-with-a-fernet-key"})
    assert "ELIGIBILITY_ENCRYPTION_KEYS" in message and "replace-with" not in message


def test_a_secret_of_exactly_the_minimum_length_is_accepted():
    environment = production_environment(BookingConfig) | {"BOOKING_SECRET_KEY": "k" * MIN_SECRET_LENGTH}
    assert BookingConfig.from_env(environment).is_production


REFUSALS = [
    ("KAPBOOK_PUBLIC_URL", "http://book.clinic.example"),
    ("KAPBOOK_PUBLIC_URL", "http://localhost:8080"),
    ("KAPBOOK_PUBLIC_URL", None),
    ("KAPBOOK_RATE_LIMIT_STORAGE", "memory://"),
    ("KAPBOOK_RATE_LIMIT_STORAGE", None),
    ("KAPBOOK_BROKER_URL", "amqp://kapbook:replace-with-a-password@rabbitmq:5672//"),
    ("{service}_DATABASE_URL", None),
    ("{service}_DATABASE_URL", "sqlite:////home/kapbook/var/{service}.db"),
    ("{service}_DATABASE_URL", "postgresql+psycopg://kapbook:replace-with-a-password@postgres:5432/{service}"),
]


@pytest.mark.parametrize("service", sorted(CONFIGS))
@pytest.mark.parametrize("variable, value", REFUSALS, ids=[f"{v}={x}" for v, x in REFUSALS])
def test_production_refuses_an_insecure_or_embedded_setting_naming_its_variable(service, variable, value):
    variable = variable.format(service=service.upper())
    value = value if value is None else value.format(service=service)
    assert variable in _refused(service, {variable: value})


@pytest.mark.parametrize("value", [None, "none"], ids=["unset", "none"])
def test_production_refuses_smtp_without_tls(value):
    assert "SMTP_SECURITY" in _refused("reminders", {"SMTP_SECURITY": value})


@pytest.mark.parametrize("value", [None, "https://meet.example.org/kapbook-{room}", "https://meet.example.org/{room}"],
                         ids=["unset", "default", "other-path"])
def test_production_refuses_the_placeholder_video_host(value):
    message = _refused("booking", {"BOOKING_VIDEO_ROOM_TEMPLATE": value})
    assert "BOOKING_VIDEO_ROOM_TEMPLATE" in message and "meet.example.org" in message


def test_a_local_trial_allows_only_http_localhost_smtp_to_a_sink_and_the_placeholder_video_host():
    trial = {"KAPBOOK_LOCAL_TRIAL": "1", "KAPBOOK_PUBLIC_URL": "http://localhost:8080"}
    reminders = production_environment(RemindersConfig) | trial | {"SMTP_SECURITY": "none"}
    assert RemindersConfig.from_env(reminders).local_trial
    booking = production_environment(BookingConfig) | trial
    del booking["BOOKING_VIDEO_ROOM_TEMPLATE"]
    assert BookingConfig.from_env(booking).is_production
    assert "KAPBOOK_PUBLIC_URL" in _refused("booking", trial | {"KAPBOOK_PUBLIC_URL": "http://book.clinic.example"})
    for name, value in [("KAPBOOK_RATE_LIMIT_STORAGE", "memory://"), ("BOOKING_DATABASE_URL", None), ("BOOKING_SECRET_KEY", SHORT)]:
        assert name in _refused("booking", trial | {name: value}), "the trial relaxes nothing else"
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        RemindersConfig.from_env(reminders | {"SMTP_USERNAME": "kapbook", "SMTP_PASSWORD": "pw"})


def test_development_and_test_keep_their_embedded_defaults():
    for config_class in CONFIGS.values():
        assert not config_class.from_env({}).is_production
        assert config_class.from_env({"KAPBOOK_ENV": "test"}).rate_limit_storage == "memory://"


def test_the_redis_rate_limit_store_production_needs_is_accepted_at_start():
    """limits refuses redis:// unless the redis client is installed (it is a dependency of kapbook_platform)."""
    config = PlatformConfig(env="test", rate_limit_storage="redis://127.0.0.1:6379/0")
    assert install_rate_limits(Flask(__name__), config) is not None
