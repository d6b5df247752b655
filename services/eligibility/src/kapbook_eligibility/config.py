"""The eligibility service's configuration, from the environment."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kapbook_platform.config import ConfigError, PlatformConfig, setting

DEVELOPMENT_ENCRYPTION_KEY = "ZGV2LW9ubHktaW5zZWN1cmUta2V5LWRvLW5vdC11c2U="


@dataclass(frozen=True)
class EligibilityConfig(PlatformConfig):
    service_name: ClassVar[str] = "eligibility"

    database_url: str = setting("ELIGIBILITY_DATABASE_URL", "", doc="SQLAlchemy URL (default: SQLite under var/)")
    encryption_keys: tuple[str, ...] = setting(
        "ELIGIBILITY_ENCRYPTION_KEYS",
        (DEVELOPMENT_ENCRYPTION_KEY,),
        doc="Fernet keys for answers at rest, comma-separated, newest first (rotation: prepend a new key)",
        secret=True,
    )
    crisis_region: str = setting("ELIGIBILITY_CRISIS_REGION", "US", doc="Which crisis resources patients are shown")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url("eligibility")

    def validate(self) -> None:
        super().validate()
        if self.is_production and DEVELOPMENT_ENCRYPTION_KEY in self.encryption_keys:
            raise ConfigError("ELIGIBILITY_ENCRYPTION_KEYS must hold a real key in production")
