"""Builds the booking service's object graph once per process: nothing happens at import time."""
from __future__ import annotations

from dataclasses import dataclass

from kapbook_booking.adapters import tables
from kapbook_booking.config import BookingConfig
from kapbook_booking.service_layer.bookings import BookingService, Clock, utc_now
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_platform.runtime import ServiceRuntime, upgrade_database


@dataclass
class BookingContainer:
    config: BookingConfig
    runtime: ServiceRuntime
    bookings: BookingService

    def migrate(self) -> None:
        upgrade_database(self.runtime, tables.metadata, "kapbook_booking.adapters.migrations")


def bootstrap(config: BookingConfig | None = None, clock: Clock = utc_now) -> BookingContainer:
    config = config or BookingConfig.from_env()
    runtime = ServiceRuntime(config, config.effective_database_url, tables.PLATFORM_TABLES)
    links = ManageLinks(config.secret_key, config.public_base_url)
    bookings = BookingService(runtime.sessions, runtime.outbox, links, clock)
    return BookingContainer(config=config, runtime=runtime, bookings=bookings)
