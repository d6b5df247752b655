"""The eligibility service's configuration, from the environment."""
from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

from kapbook_platform.config import ConfigError, PlatformConfig, check_key_list, setting
from kapbook_platform.contracts.check_in_links import check_fernet_keys, check_in_link_keys
from kapbook_platform.staff.signing import DEVELOPMENT_VERIFY_KEY, check_key

DEVELOPMENT_ENCRYPTION_KEY = "ZGV2LW9ubHktaW5zZWN1cmUta2V5LWRvLW5vdC11c2U="


@dataclass(frozen=True)
class EligibilityConfig(PlatformConfig):
    service_name: ClassVar[str] = "eligibility"

    database_url: str = setting("ELIGIBILITY_DATABASE_URL", "", doc="SQLAlchemy URL (default: SQLite under var/)")
    credential_verify_key: str = setting(
        "KAPBOOK_CREDENTIAL_VERIFY_KEY", DEVELOPMENT_VERIFY_KEY,
        doc="Ed25519 public key (base64url) the booking service's staff credential events are verified with; "
            "pairs with BOOKING_CREDENTIAL_SIGNING_KEY (make compose-env writes both)",
    )
    encryption_keys: tuple[str, ...] = setting(
        "ELIGIBILITY_ENCRYPTION_KEYS",
        (DEVELOPMENT_ENCRYPTION_KEY,),
        doc="Fernet keys for answers at rest, comma-separated, newest first (rotation: prepend a new key)",
        secret=True,
    )
    crisis_region: str = setting("ELIGIBILITY_CRISIS_REGION", "US", doc="Which crisis resources patients are shown")
    crisis_resources_file: str = setting(
        "ELIGIBILITY_CRISIS_RESOURCES_FILE", "", doc="JSON file adding or replacing crisis resources per region (optional)"
    )
    timezone: str = setting(
        "ELIGIBILITY_TIMEZONE", "UTC", doc="The clinic's IANA time zone: the date ages and validity are counted in"
    )
    check_in_link_keys: tuple[str, ...] = setting(
        "KAPBOOK_CHECK_IN_LINK_KEYS", (),
        doc="Fernet keys the check-in links in reminder emails are opened with, comma-separated, newest first; the "
            "reminders service must have the same list (default: a key derived from KAPBOOK_SERVICE_TOKEN)",
    )
    check_in_cssrs: bool = setting(
        "ELIGIBILITY_CHECK_IN_CSSRS", True,
        doc="Whether check-ins between doses ask the C-SSRS screener as well as the PHQ-9 and GAD-7",
    )
    cors_origins: tuple[str, ...] = setting(
        "ELIGIBILITY_CORS_ORIGINS", (),
        doc="Websites that embed the booking widget (it submits screenings), comma-separated origins",
    )

    @property
    def check_in_keys(self) -> tuple[str, ...]:
        return check_in_link_keys(self.check_in_link_keys, self.service_token)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url("eligibility")

    def validate(self) -> None:
        super().validate()
        problem = check_key("KAPBOOK_CREDENTIAL_VERIFY_KEY", self.credential_verify_key, private=False)
        if problem:
            raise ConfigError(problem)
        if self.is_production and self.credential_verify_key == DEVELOPMENT_VERIFY_KEY:
            raise ConfigError("KAPBOOK_CREDENTIAL_VERIFY_KEY must be your booking service's key in production, "
                              "not the development one (make compose-env writes a pair)")
        if not self.encryption_keys:
            raise ConfigError("ELIGIBILITY_ENCRYPTION_KEYS must hold at least one key")
        for position, key in enumerate(self.encryption_keys, start=1):
            _check_fernet_key(key, position)
        if self.is_production and DEVELOPMENT_ENCRYPTION_KEY in self.encryption_keys:
            raise ConfigError("ELIGIBILITY_ENCRYPTION_KEYS must hold a real key in production")
        # Like the unsubscribe keys: optional (derived from the service token, itself checked), never a weak one.
        check_key_list("KAPBOOK_CHECK_IN_LINK_KEYS", self.check_in_link_keys, self.is_production)
        check_fernet_keys("KAPBOOK_CHECK_IN_LINK_KEYS", self.check_in_link_keys)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"ELIGIBILITY_TIMEZONE must be an IANA time zone, not {self.timezone!r}") from None


def _check_fernet_key(key: str, position: int) -> None:
    try:
        Fernet(key)
    except (ValueError, binascii.Error):
        # Never echo the value: it is (or was meant to be) a secret.
        raise ConfigError(
            f"ELIGIBILITY_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
            "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from None
