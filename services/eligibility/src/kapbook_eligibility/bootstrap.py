"""Builds the eligibility service's object graph once per process: nothing happens at import time."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from kapbook_eligibility.adapters import tables
from kapbook_eligibility.adapters.encryption import FieldCipher
from kapbook_eligibility.config import EligibilityConfig
from kapbook_eligibility.domain import CrisisResource, InvalidCrisisResources, default_crisis_directory
from kapbook_eligibility.service_layer.check_ins import CheckInService
from kapbook_eligibility.service_layer.keys import RotationReport, rotate_keys
from kapbook_eligibility.service_layer.reviews import ReviewService
from kapbook_eligibility.service_layer.rule_sets import RuleSetService
from kapbook_eligibility.service_layer.screenings import ScreeningService
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.config import ConfigError
from kapbook_platform.messaging.consumer import EventHandler
from kapbook_platform.runtime import ServiceRuntime, upgrade_database
from kapbook_platform.staff.projection import staff_event_handlers


@dataclass
class EligibilityContainer:
    config: EligibilityConfig
    runtime: ServiceRuntime
    cipher: FieldCipher
    rule_sets: RuleSetService
    screenings: ScreeningService
    reviews: ReviewService
    check_ins: CheckInService
    handlers: dict[str, EventHandler]  # event type → what the consumer does with it

    def migrate(self) -> None:
        """Apply the migrations, then make sure a rule set is in force."""
        upgrade_database(self.runtime, tables.metadata, "kapbook_eligibility.adapters.migrations")
        self.rule_sets.ensure_seeded()

    def rotate_keys(self) -> RotationReport:
        return rotate_keys(self.runtime.sessions, self.cipher)


def bootstrap(config: EligibilityConfig | None = None, clock: Clock = utc_now) -> EligibilityContainer:
    config = config or EligibilityConfig.from_env()
    runtime = ServiceRuntime(config, config.effective_database_url, tables.PLATFORM_TABLES)
    cipher = FieldCipher(config.encryption_keys)
    audit_log = runtime.tables["audit_log"]
    rule_sets = RuleSetService(runtime.sessions, audit_log, clock)
    screenings = ScreeningService(
        runtime.sessions,
        runtime.outbox,
        cipher,
        rule_sets,
        crisis_resources_for(config),
        config.public_base_url,
        ZoneInfo(config.timezone),
        clock,
    )
    reviews = ReviewService(runtime.sessions, runtime.outbox, cipher, audit_log, clock)
    check_ins = CheckInService(runtime.sessions, runtime.outbox, cipher, audit_log, config.check_in_keys,
                               config.check_in_cssrs, screenings.crisis_resources, config.public_base_url, clock)
    handlers = staff_event_handlers(runtime.tables["staff_credentials"], runtime.tables["staff_credential_tombstones"],
                                 config.credential_verify_key)
    return EligibilityContainer(config, runtime, cipher, rule_sets, screenings, reviews, check_ins, handlers=handlers)


def crisis_resources_for(config: EligibilityConfig) -> tuple[CrisisResource, ...]:
    """The resources of the configured region (packaged ones, plus the clinic's file if any)."""
    directory = default_crisis_directory()
    try:
        if config.crisis_resources_file:
            directory = directory.merged_with(json.loads(Path(config.crisis_resources_file).read_text(encoding="utf-8")))
    except (OSError, ValueError, InvalidCrisisResources) as error:
        raise ConfigError(f"ELIGIBILITY_CRISIS_RESOURCES_FILE cannot be used: {error}") from None
    region = config.crisis_region.strip().upper()
    if region not in directory.regions:
        # Falling back to another country's hotline would send a patient in crisis to the wrong number.
        raise ConfigError(f"ELIGIBILITY_CRISIS_REGION {config.crisis_region!r} has no crisis resources; add them in a file")
    return directory.for_region(region)
