"""Typed configuration read from the environment: one frozen dataclass per service.

Each field names its environment variable in its metadata, so the variables a service reads
can be listed (the README table and the docker-compose check use ``environment_variables``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

DEVELOPMENT_SECRET = "dev-only-insecure-secret"
DEVELOPMENT_SERVICE_TOKEN = "dev-only-service-token"
DEVELOPMENT_SECRETS = frozenset({DEVELOPMENT_SECRET, DEVELOPMENT_SERVICE_TOKEN, "", "changeme"})
# Production refuses a secret shorter than this, or one holding a placeholder (deploy/compose.env.example).
MIN_SECRET_LENGTH = 32
PLACEHOLDER_MARKERS = ("replace-with", "changeme", "change-me", "dev-only", "placeholder", "insecure")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_RATE_LIMIT = "30/minute"
DEFAULT_RATE_LIMIT_PER_EMAIL = "10/hour"
TEST_RATE_LIMIT = "100000/minute"  # test suites book far more than a patient would; the limit's own tests set one

C = TypeVar("C", bound="PlatformConfig")


class ConfigError(ValueError):
    """The environment holds a value the service cannot run with."""


def setting(env: str, default: Any = None, *, doc: str = "", secret: bool = False) -> Any:
    """Declare a config field read from the environment variable ``env``."""
    return dataclasses.field(default=default, metadata={"env": env, "doc": doc, "secret": secret})


def _parse(raw: str, kind: Any, env: str) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{env} must be true or false, not {raw!r}")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise ConfigError(f"{env} must be a number, not {raw!r}") from None
    if kind is Path:
        return Path(raw)
    if typing.get_origin(kind) is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


@dataclasses.dataclass(frozen=True)
class PlatformConfig:
    """Settings every Kapbook process reads."""

    env: str = setting("KAPBOOK_ENV", "development", doc="development, test or production")
    log_level: str = setting("KAPBOOK_LOG_LEVEL", "INFO", doc="Python log level")
    var_dir: Path = setting("KAPBOOK_VAR_DIR", Path("var"), doc="Where embedded databases, the broker folder and mail live")
    broker_url: str = setting(
        "KAPBOOK_BROKER_URL", "", doc="amqp://user:pass@host:5672// or filesystem:///path (default: filesystem under var/)"
    )
    broker_namespace: str = setting("KAPBOOK_BROKER_NAMESPACE", "kapbook", doc="Prefix of exchange and queue names")
    public_base_url: str = setting(
        "KAPBOOK_PUBLIC_URL", "http://127.0.0.1:8080", doc="Where patients and staff reach Kapbook (links in emails)"
    )
    service_token: str = setting(
        "KAPBOOK_SERVICE_TOKEN", DEVELOPMENT_SERVICE_TOKEN, doc="Shared credential for service-to-service calls", secret=True
    )
    relay_interval: float = setting(
        "KAPBOOK_RELAY_INTERVAL", 0.05, doc="Seconds between outbox polls when idle (the fallback: a commit wakes the relay at once)"
    )
    rate_limit: str = setting(
        "KAPBOOK_RATE_LIMIT", "",
        doc="Requests one client IP may make to each public write endpoint (book, hold, cancel, reschedule, screen), "
            f"e.g. 30/minute or 10/minute;100/hour (default {DEFAULT_RATE_LIMIT}; {TEST_RATE_LIMIT} when KAPBOOK_ENV=test)",
    )
    rate_limit_per_email: str = setting(
        "KAPBOOK_RATE_LIMIT_PER_EMAIL", "",
        doc="Submissions one patient email may make to each booking or screening endpoint, whatever the address "
            f"(default {DEFAULT_RATE_LIMIT_PER_EMAIL}; {TEST_RATE_LIMIT} when KAPBOOK_ENV=test)",
    )
    rate_limit_storage: str = setting(
        "KAPBOOK_RATE_LIMIT_STORAGE", "memory://",
        doc="Where rate-limit counters live: memory:// (per process; refused in production) or the shared "
            "redis://host:6379/0 every gunicorn worker and host counts in",
    )
    local_trial: bool = setting(
        "KAPBOOK_LOCAL_TRIAL", False,
        doc="Production shape on one machine only (docker compose): allows an http://localhost public URL, "
            "SMTP without TLS to a sink such as Mailpit and the placeholder video host. Never in a real deployment",
    )
    trusted_proxies: int = setting(
        "KAPBOOK_TRUSTED_PROXIES", 0,
        doc="Reverse proxies in front of the service whose X-Forwarded-For/-Proto are trusted (0: none, the headers "
            "are the client's word; the make run gateway and nginx in docker compose set 1)",
    )

    service_name: typing.ClassVar[str] = "kapbook"

    @classmethod
    def from_env(cls: type[C], environ: Mapping[str, str] | None = None, **overrides: Any) -> C:
        """Build the config from ``environ`` (default: the process environment), then ``overrides``."""
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            env = field.metadata.get("env")
            if env and env in environ:
                values[field.name] = _parse(environ[env], hints[field.name], env)
        values.update(overrides)
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def environment_variables(cls) -> dict[str, str]:
        """Every environment variable this config reads, with its description."""
        return {f.metadata["env"]: f.metadata.get("doc", "") for f in dataclasses.fields(cls) if "env" in f.metadata}

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def effective_rate_limit(self) -> str:
        if self.rate_limit:
            return self.rate_limit
        return TEST_RATE_LIMIT if self.env == "test" else DEFAULT_RATE_LIMIT

    @property
    def effective_rate_limit_per_email(self) -> str:
        if self.rate_limit_per_email:
            return self.rate_limit_per_email
        return TEST_RATE_LIMIT if self.env == "test" else DEFAULT_RATE_LIMIT_PER_EMAIL

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or f"filesystem://{(self.var_dir / 'broker').resolve()}"

    def sqlite_url(self, name: str) -> str:
        return f"sqlite:///{(self.var_dir / f'{name}.db').resolve()}"

    def validate(self) -> None:
        """Refuse to run production on a development secret, an embedded default or an insecure setting."""
        if self.env not in {"development", "test", "production"}:
            raise ConfigError(f"KAPBOOK_ENV must be development, test or production, not {self.env!r}")
        if not self.is_production:
            return
        for field in dataclasses.fields(self):
            if field.metadata.get("secret"):
                value = getattr(self, field.name)
                for part in value if isinstance(value, tuple) else (value,):
                    _check_secret(field.metadata["env"], part)
        if not self.broker_url.startswith("amqp"):
            raise ConfigError("KAPBOOK_BROKER_URL must point at RabbitMQ (amqp://) in production")
        _check_url_password("KAPBOOK_BROKER_URL", self.broker_url)
        public = urlsplit(self.public_base_url)
        if public.scheme != "https" and not (self.local_trial and public.scheme == "http" and public.hostname in LOOPBACK_HOSTS):
            raise ConfigError(
                "KAPBOOK_PUBLIC_URL must be an https URL in production (links in emails carry secrets); "
                "only KAPBOOK_LOCAL_TRIAL=1 allows http://localhost"
            )
        if self.rate_limit_storage.startswith("memory:"):
            raise ConfigError(
                "KAPBOOK_RATE_LIMIT_STORAGE must be a shared store such as redis://host:6379 in production "
                "(memory:// counts in each gunicorn worker apart)"
            )
        for field in dataclasses.fields(self):
            if field.name == "database_url":
                url = getattr(self, field.name)
                if not url.startswith("postgresql"):
                    raise ConfigError(
                        f"{field.metadata['env']} must be a PostgreSQL URL (postgresql+psycopg://...) in production, "
                        "not SQLite or unset"
                    )
                _check_url_password(field.metadata["env"], url)


def derive_key(secret: str, label: str) -> str:
    """A key of its own for one purpose (``label``), derived from ``secret`` (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode("utf-8"), label.encode("utf-8"), hashlib.sha256).hexdigest()


def check_key_list(env: str, keys: tuple[str, ...], is_production: bool) -> None:
    """Refuse, in production, a rotation list holding a short, development or placeholder key.

    An empty list is allowed: the key is then derived from a secret that is itself checked."""
    if is_production:
        for key in keys:
            _check_secret(env, key)


def _check_secret(env: str, value: str) -> None:
    """Refuse a development, placeholder or short secret; the message never echoes the value."""
    if value in DEVELOPMENT_SECRETS or any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
        raise ConfigError(f"{env} must be set to a real secret in production (make compose-env writes random ones)")
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{env} must be at least {MIN_SECRET_LENGTH} characters in production "
            "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )


def _check_url_password(env: str, url: str) -> None:
    password = urlsplit(url).password or ""
    if any(marker in password.lower() for marker in PLACEHOLDER_MARKERS):
        raise ConfigError(f"{env} holds a placeholder password; set a real one in production")
