"""Builds the booking service's object graph once per process: nothing happens at import time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables
from kapbook_booking.adapters.eligibility_client import EligibilityClient
from kapbook_booking.config import BookingConfig
from kapbook_booking.service_layer.availability_cache import AvailabilityCache
from kapbook_booking.service_layer.bookings import BookingService
from kapbook_booking.service_layer.calendar_feed import CalendarFeeds
from kapbook_booking.service_layer.catalog import StaffCatalog
from kapbook_booking.service_layer.schedules import StaffSchedules
from kapbook_booking.service_layer.series import SeriesService
from kapbook_booking.domain.console_sessions import SessionPolicy
from kapbook_booking.domain.lockout import LockoutPolicy
from kapbook_booking.service_layer.console_sessions import ConsoleSessions
from kapbook_booking.service_layer.staff import StaffAccounts, StaffTokens
from kapbook_booking.service_layer.staff_calendar import StaffCalendar
from kapbook_booking.service_layer.audit_trail import AuditTrail
from kapbook_booking.service_layer.director_report import DirectorReports
from kapbook_booking.service_layer.staff_records import StaffWrites
from kapbook_booking.service_layer.password_resets import PasswordResets
from kapbook_booking.service_layer.two_step import TwoStep
from kapbook_booking.service_layer.eligibility import EligibilityGate, screening_event_handlers
from kapbook_booking.service_layer.lifecycle import BookingLifecycle
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_booking.service_layer.patients import PatientAccess
from kapbook_booking.service_layer.webhooks import WebhookDispatcher, WebhookEndpoints, WebhookFanout
from kapbook_booking.adapters.caldav_http import CalDavClient
from kapbook_booking.adapters.secret_box import CALDAV_LABEL, SecretBox, TotpSecrets
from kapbook_booking.service_layer.calendars import (
    CalendarConnections,
    CalendarPusher,
    CalendarPushFanout,
    CalendarSettings,
    CalendarSync,
)
from kapbook_booking.service_layer.waitlist import Waitlist, WaitlistOpenings, WaitlistSettings
from kapbook_booking.adapters.webhook_http import TargetGuard, WebhookSender
from kapbook_booking.domain.webhooks import parse_networks
from kapbook_platform.contracts.events import EventType
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.database import read_only
from kapbook_platform.messaging.consumer import EventHandler
from kapbook_platform.runtime import ServiceRuntime, upgrade_database


@dataclass
class BookingContainer:
    config: BookingConfig
    runtime: ServiceRuntime
    bookings: BookingService
    lifecycle: BookingLifecycle
    catalog: StaffCatalog
    schedules: StaffSchedules
    staff_calendar: StaffCalendar
    calendar_feeds: CalendarFeeds
    audit_trail: AuditTrail
    director_reports: DirectorReports
    patients: PatientAccess
    series: SeriesService
    accounts: StaffAccounts
    console_sessions: ConsoleSessions
    two_step: TwoStep
    password_resets: PasswordResets
    tokens: StaffTokens
    handlers: dict[str, EventHandler]  # event type → what the consumer does with it
    webhooks: WebhookEndpoints
    webhook_dispatcher: WebhookDispatcher
    calendars: CalendarConnections
    calendar_sync: CalendarSync
    calendar_pusher: CalendarPusher
    waitlist: Waitlist
    # Every use case and page reads time from here, so tests can travel in time.
    clock: Clock = utc_now

    def clinician_names(self) -> dict[str, str]:
        # A read: on SQLite it must not take the write lock (availability answers call this).
        with self.runtime.sessions(bind=read_only(self.runtime.engine)) as session:
            return repo.clinician_names(session)

    def migrate(self) -> None:
        upgrade_database(self.runtime, tables.metadata, "kapbook_booking.adapters.migrations")


def bootstrap(config: BookingConfig | None = None, clock: Clock = utc_now) -> BookingContainer:
    config = config or BookingConfig.from_env()
    runtime = ServiceRuntime(config, config.effective_database_url, tables.PLATFORM_TABLES)
    links = ManageLinks(config.effective_manage_link_keys, config.public_base_url)
    client = EligibilityClient(config.eligibility_url, config.service_token, timeout=config.eligibility_timeout)
    gate = EligibilityGate(client, config.screening_valid_days)
    bookings = BookingService(
        runtime.sessions, runtime.outbox, links, gate, clock,
        hold_minutes=config.hold_minutes, max_availability_days=config.max_availability_days,
        video_room_template=config.video_room_template,
        cache=AvailabilityCache(timedelta(seconds=config.availability_cache_seconds)),
    )
    lifecycle = BookingLifecycle(runtime.sessions, runtime.outbox, links, runtime.tables["audit_log"], clock)
    writes = StaffWrites(runtime.sessions, runtime.tables["audit_log"])
    console_sessions = ConsoleSessions(
        writes, runtime.outbox, config.secret_key, config.credential_signing_key,
        SessionPolicy(timedelta(seconds=config.console_idle_seconds), timedelta(hours=config.console_session_hours)), clock,
        LockoutPolicy(config.sign_in_max_failures, config.sign_in_max_failures_per_ip,
                      timedelta(minutes=config.sign_in_lockout_minutes)),
    )
    webhooks, dispatcher, handlers = _webhooks(config, runtime, writes, clock)
    calendars, calendar_sync, calendar_pusher = _calendars(config, runtime, writes, clock)
    # Every booking event that frees a time also writes an opening for the waitlist, in its transaction.
    runtime.outbox.on_add(WaitlistOpenings(clock).on_event)
    waitlist = Waitlist(
        runtime.sessions, runtime.outbox, links, gate, config.public_base_url, runtime.tables["audit_log"], clock,
        WaitlistSettings(offer_minutes=config.waitlist_offer_minutes, entry_days=config.waitlist_entry_days),
        video_room_template=config.video_room_template,
    )
    return BookingContainer(
        config=config,
        runtime=runtime,
        bookings=bookings,
        lifecycle=lifecycle,
        catalog=StaffCatalog(writes),
        schedules=StaffSchedules(writes, clock),
        staff_calendar=StaffCalendar(writes, clock),
        calendar_feeds=CalendarFeeds(writes, config.public_base_url, clock),
        audit_trail=AuditTrail(writes),
        director_reports=DirectorReports(writes, clock),
        patients=PatientAccess(runtime.sessions, runtime.outbox, links, config.public_base_url,
                               config.screening_valid_days, config.cors_origins, clock),
        series=SeriesService(runtime.sessions, runtime.outbox, links, gate, lifecycle, writes, clock,
                             video_room_template=config.video_room_template),
        handlers=handlers,
        webhooks=webhooks,
        webhook_dispatcher=dispatcher,
        calendars=calendars,
        calendar_sync=calendar_sync,
        calendar_pusher=calendar_pusher,
        waitlist=waitlist,
        accounts=StaffAccounts(writes, clock),
        console_sessions=console_sessions,
        two_step=TwoStep(writes, clock, required=config.two_step_required, totp=TotpSecrets(config.secret_key)),
        password_resets=PasswordResets(writes, runtime.outbox, console_sessions, config.public_base_url, clock),
        tokens=StaffTokens(writes, runtime.outbox, clock, config.credential_signing_key),
        clock=clock,
    )


WEBHOOK_BATCH = 20


def _webhooks(config: BookingConfig, runtime: ServiceRuntime, writes: StaffWrites, clock: Clock):
    """Endpoints, the dispatcher, and the consumer's handlers with screening webhooks added.

    Every event any use case adds to the outbox also fans out into webhook deliveries.
    """
    box = SecretBox(config.secret_key)
    guard = TargetGuard(config.is_production, parse_networks(config.webhook_allowed_networks))
    fanout = WebhookFanout(clock)
    runtime.outbox.on_add(fanout.on_event)
    handlers = screening_event_handlers()
    for event_type in (EventType.SCREENING_DECIDED, EventType.SCREENING_DECIDED_V1):
        handlers[event_type] = fanout.also_on(handlers[event_type])
    endpoints = WebhookEndpoints(writes, box, guard, clock, timedelta(hours=config.webhook_rotation_grace_hours))
    dispatcher = WebhookDispatcher(
        runtime.sessions, WebhookSender(guard, timeout=config.webhook_timeout, ca_file=config.webhook_ca_file or None), box, runtime.outbox, clock,
        disable_after=config.webhook_disable_after,
        # The lease outlasts a whole batch of receivers that each use up the connect and read timeouts,
        # so another worker never takes a delivery this one is still sending.
        lease=timedelta(seconds=WEBHOOK_BATCH * 2 * config.webhook_timeout + 60), batch_size=WEBHOOK_BATCH,
    )
    return endpoints, dispatcher, handlers


CALENDAR_BATCH = 10


def _calendars(config: BookingConfig, runtime: ServiceRuntime, writes: StaffWrites, clock: Clock):
    """Connected calendars: the staff use cases, the background sync and the booking pusher.

    Every booking event any use case adds to the outbox also marks the booking due for pushing.
    """
    box = SecretBox(config.secret_key, CALDAV_LABEL)
    guard = TargetGuard(config.is_production, parse_networks(config.caldav_allowed_networks))
    client = CalDavClient(guard, timeout=config.caldav_timeout, max_body=config.caldav_max_megabytes * 1024 * 1024)
    settings = CalendarSettings(
        sync_every=timedelta(seconds=config.caldav_sync_seconds), sync_days=config.caldav_sync_days,
        lease=timedelta(seconds=CALENDAR_BATCH * 2 * config.caldav_timeout + 60), batch_size=CALENDAR_BATCH,
    )
    sync = CalendarSync(runtime.sessions, client, box, clock, settings)
    runtime.outbox.on_add(CalendarPushFanout(clock).on_event)
    pusher = CalendarPusher(runtime.sessions, client, box, clock,
                            lease=timedelta(seconds=CALENDAR_BATCH * 2 * config.caldav_timeout + 60))
    return CalendarConnections(writes, box, guard, sync, clock, settings), sync, pusher

