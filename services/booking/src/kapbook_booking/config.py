"""The booking service's configuration, from the environment."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kapbook_platform.config import DEVELOPMENT_SECRET, PlatformConfig, setting


@dataclass(frozen=True)
class BookingConfig(PlatformConfig):
    service_name: ClassVar[str] = "booking"

    database_url: str = setting("BOOKING_DATABASE_URL", "", doc="SQLAlchemy URL (default: SQLite under var/)")
    secret_key: str = setting(
        "BOOKING_SECRET_KEY", DEVELOPMENT_SECRET, doc="Signs patients' manage links", secret=True
    )
    eligibility_url: str = setting(
        "BOOKING_ELIGIBILITY_URL", "http://127.0.0.1:8082", doc="Base URL of the eligibility service"
    )
    eligibility_timeout: float = setting("BOOKING_ELIGIBILITY_TIMEOUT", 2.0, doc="Seconds to wait for the eligibility service")
    hold_minutes: int = setting("BOOKING_HOLD_MINUTES", 10, doc="How long a hold reserves a slot")
    screening_valid_days: int = setting("BOOKING_SCREENING_VALID_DAYS", 90, doc="How old an eligibility decision may be")
    max_availability_days: int = setting("BOOKING_MAX_AVAILABILITY_DAYS", 42, doc="Longest availability window")
    cors_origins: tuple[str, ...] = setting(
        "BOOKING_CORS_ORIGINS", (),
        doc="Websites that embed the booking widget, comma-separated origins (e.g. https://www.clinic.example)",
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url("booking")
