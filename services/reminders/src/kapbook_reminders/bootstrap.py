"""Builds the reminders service's object graph once per process."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.consumer import EventHandler
from kapbook_platform.runtime import ServiceRuntime, upgrade_database
from kapbook_platform.staff.projection import staff_event_handlers
from kapbook_reminders.adapters import tables
from kapbook_reminders.adapters.repository import SqlMessageStore
from kapbook_reminders.adapters.smtp import MailSender, SmtpSender
from kapbook_reminders.config import RemindersConfig
from kapbook_reminders.domain.branding import ClinicBranding
from kapbook_reminders.domain.plan import MessageKind
from kapbook_reminders.domain.plan_config import load_notification_plans
from kapbook_reminders.service_layer.dispatch import Dispatcher
from kapbook_reminders.service_layer.planning import MessagePlanner, on_password_reset_link
from kapbook_reminders.service_layer.rendering import MessageComposer

BOOKING_EVENTS = (
    EventType.BOOKING_CREATED,
    EventType.BOOKING_RESCHEDULED,
    EventType.BOOKING_CANCELLED,
    EventType.BOOKING_NOSHOW,
    EventType.BOOKING_COMPLETED,
)


@dataclass
class RemindersContainer:
    config: RemindersConfig
    runtime: ServiceRuntime
    store: SqlMessageStore
    planner: MessagePlanner
    dispatcher: Dispatcher
    branding: ClinicBranding
    handlers: dict[str, EventHandler]  # event type → what the consumer does with it
    # Every use case reads time from here, so tests can travel in time.
    clock: Clock = utc_now

    def migrate(self) -> None:
        upgrade_database(self.runtime, tables.metadata, "kapbook_reminders.adapters.migrations")


def event_handlers(planner: MessagePlanner, config: RemindersConfig, runtime: ServiceRuntime) -> dict[str, EventHandler]:
    """What the consumer runs for each event type it receives."""
    handlers: dict[str, EventHandler] = {event_type: planner.on_booking_event for event_type in BOOKING_EVENTS}
    handlers[EventType.SCREENING_CRISIS] = planner.on_crisis(
        config.oncall_email, timedelta(seconds=config.crisis_alert_window))
    # A check-in that shows new risk alerts on-call exactly as a crisis screening does (one alert path).
    handlers[EventType.CHECK_IN_ALERT] = handlers[EventType.SCREENING_CRISIS]
    handlers[EventType.PATIENT_SIGN_IN_LINK] = planner.on_sign_in_link
    handlers[EventType.BOOKING_MANAGE_LINK_REPLACED] = planner.on_manage_link_replaced
    handlers[EventType.SERIES_BOOKED] = planner.on_series_booked
    handlers[EventType.SERIES_CANCELLED] = planner.on_series_cancelled
    handlers[EventType.WEBHOOK_ENDPOINT_DISABLED] = planner.on_webhook_disabled
    handlers[EventType.STAFF_PASSWORD_RESET_LINK] = on_password_reset_link(planner)
    handlers[EventType.WAITLIST_JOINED] = planner.on_waitlist_event(MessageKind.WAITLIST_JOINED)
    handlers[EventType.WAITLIST_OFFERED] = planner.on_waitlist_event(MessageKind.WAITLIST_OFFER)
    return handlers | staff_event_handlers(runtime.tables["staff_credentials"], runtime.tables["staff_credential_tombstones"],
                                           config.credential_verify_key)


def smtp_sender(config: RemindersConfig) -> SmtpSender:
    return SmtpSender(
        host=config.smtp_host,
        port=config.smtp_port,
        security=config.smtp_security,
        username=config.smtp_username,
        password=config.smtp_password,
        timeout=config.smtp_timeout,
        ca_file=config.smtp_ca_file,
    )


def bootstrap(
    config: RemindersConfig | None = None, clock: Clock = utc_now, sender: MailSender | None = None
) -> RemindersContainer:
    config = config or RemindersConfig.from_env()
    runtime = ServiceRuntime(config, config.effective_database_url, tables.PLATFORM_TABLES)
    overrides = json.loads(config.plans_path.read_text()) if config.plans_path else None
    plans = load_notification_plans(overrides)
    store = SqlMessageStore(runtime.sessions, runtime.tables["audit_log"])
    planner = MessagePlanner(plans, clock, store)
    composer = MessageComposer.from_config(config, plans)
    dispatcher = Dispatcher(
        store,
        sender or smtp_sender(config),
        composer,
        clock,
        batch_size=config.dispatch_batch,
        max_attempts=config.max_send_attempts,
        lease=timedelta(seconds=config.dispatch_lease),
    )
    return RemindersContainer(
        config=config, runtime=runtime, store=store, planner=planner, dispatcher=dispatcher,
        branding=composer.branding, handlers=event_handlers(planner, config, runtime), clock=clock,
    )
