"""Builds the eligibility service's object graph once per process."""
from __future__ import annotations

from dataclasses import dataclass

from kapbook_eligibility.adapters import tables
from kapbook_eligibility.config import EligibilityConfig
from kapbook_platform.runtime import ServiceRuntime, upgrade_database
from kapbook_platform.staff import staff_event_handlers


@dataclass
class EligibilityContainer:
    config: EligibilityConfig
    runtime: ServiceRuntime

    def migrate(self) -> None:
        upgrade_database(self.runtime, tables.metadata, "kapbook_eligibility.adapters.migrations")

    def event_handlers(self) -> dict:
        return staff_event_handlers(self.runtime.tables["staff_credentials"])


def bootstrap(config: EligibilityConfig | None = None) -> EligibilityContainer:
    config = config or EligibilityConfig.from_env()
    runtime = ServiceRuntime(config, config.effective_database_url, tables.PLATFORM_TABLES)
    return EligibilityContainer(config=config, runtime=runtime)
