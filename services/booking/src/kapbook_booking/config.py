"""The booking service's configuration, from the environment."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from limits import parse_many

from kapbook_booking.domain.video import DEFAULT_VIDEO_ROOM_TEMPLATE, ROOM_PLACEHOLDER
from kapbook_booking.domain.webhooks import parse_networks
from kapbook_platform.config import DEVELOPMENT_SECRET, ConfigError, PlatformConfig, check_key_list, derive_key, setting
from kapbook_platform.staff.signing import DEVELOPMENT_SIGNING_KEY, check_key


@dataclass(frozen=True)
class BookingConfig(PlatformConfig):
    service_name: ClassVar[str] = "booking"

    database_url: str = setting("BOOKING_DATABASE_URL", "", doc="SQLAlchemy URL (default: SQLite under var/)")
    secret_key: str = setting(
        "BOOKING_SECRET_KEY", DEVELOPMENT_SECRET, doc="Signs the manage links of bookings made before migration 0012 (newer links are random secrets)", secret=True
    )
    # Rotation lists (issue 14): the first key signs, every key verifies. Unset: a key derived from
    # BOOKING_SECRET_KEY under a label of its own, so CSRF and manage links never share a key.
    csrf_keys: tuple[str, ...] = setting(
        "BOOKING_CSRF_KEYS", (),
        doc="Keys of the console's and /my's CSRF tokens, comma-separated: the first signs, every one verifies "
            "(default: derived from BOOKING_SECRET_KEY)",
    )
    manage_link_keys: tuple[str, ...] = setting(
        "BOOKING_MANAGE_LINK_KEYS", (),
        doc="Keys that verify the signed manage links of bookings made before migration 0012, comma-separated "
            "(default: derived from BOOKING_SECRET_KEY; links signed with BOOKING_SECRET_KEY itself still open)",
    )
    credential_signing_key: str = setting(
        "BOOKING_CREDENTIAL_SIGNING_KEY", DEVELOPMENT_SIGNING_KEY,
        doc="Ed25519 private key (base64url) that signs staff credential events; only booking holds it. "
            "Its public half is KAPBOOK_CREDENTIAL_VERIFY_KEY of eligibility and reminders",
        secret=True,
    )
    eligibility_url: str = setting(
        "BOOKING_ELIGIBILITY_URL", "http://127.0.0.1:8082", doc="Base URL of the eligibility service"
    )
    reminders_url: str = setting(
        "BOOKING_REMINDERS_URL", "http://127.0.0.1:8083",
        doc="Base URL of the reminders service (the console shows its notification log)",
    )
    console_idle_seconds: int = setting(
        "BOOKING_CONSOLE_IDLE_SECONDS", 900, doc="A console session ends after this many seconds without a request"
    )
    console_session_hours: int = setting(
        "BOOKING_CONSOLE_SESSION_HOURS", 12, doc="A console session ends this many hours after signing in, busy or not"
    )
    sign_in_max_failures: int = setting(
        "BOOKING_SIGN_IN_MAX_FAILURES", 5, doc="Failed console sign-ins for one email before it is locked for a while"
    )
    sign_in_max_failures_per_ip: int = setting(
        "BOOKING_SIGN_IN_MAX_FAILURES_PER_IP", 20, doc="Failed console sign-ins from one IP address before it is locked for a while"
    )
    sign_in_lockout_minutes: int = setting(
        "BOOKING_SIGN_IN_LOCKOUT_MINUTES", 15, doc="The window failures are counted in, and so how long a lockout lasts"
    )
    two_step: str = setting(
        "BOOKING_TWO_STEP", "",
        doc="required: every staff member must set up two-step verification (TOTP) to use the console; "
            "optional: each decides (default: required when KAPBOOK_ENV=production, optional otherwise)",
    )
    eligibility_timeout: float = setting("BOOKING_ELIGIBILITY_TIMEOUT", 2.0, doc="Seconds to wait for the eligibility service")
    hold_minutes: int = setting("BOOKING_HOLD_MINUTES", 10, doc="How long a hold reserves a slot")
    screening_valid_days: int = setting("BOOKING_SCREENING_VALID_DAYS", 90, doc="How old an eligibility decision may be")
    max_availability_days: int = setting("BOOKING_MAX_AVAILABILITY_DAYS", 42, doc="Longest availability window")
    availability_cache_seconds: float = setting(
        "BOOKING_AVAILABILITY_CACHE_SECONDS", 30.0,
        doc="How long a process keeps an availability answer while nothing it depends on changes (every booking, "
            "hold, schedule or catalogue change ends it at once); 0 turns the cache off",
    )
    cors_origins: tuple[str, ...] = setting(
        "BOOKING_CORS_ORIGINS", (),
        doc="Websites that embed the booking widget, comma-separated origins (e.g. https://www.clinic.example); also the only sites (besides Kapbook's own) that may frame its screening step (frame-ancestors)",
    )

    booking_phone: str = setting(
        "BOOKING_PHONE", "", doc="Phone number patients can call to book; published as SMART's booking-phone when set"
    )
    fhir_publish_days: int = setting(
        "BOOKING_FHIR_PUBLISH_DAYS", 14, doc="Days of free slots in the SMART Scheduling Links Slot file"
    )
    sign_in_limit_per_email: str = setting(
        "BOOKING_SIGN_IN_LIMIT_PER_EMAIL", "5/hour",
        doc="Sign-in links one email address may be sent (asked for on /my or from the widget), e.g. 5/hour",
    )
    sign_in_limit_per_ip: str = setting(
        "BOOKING_SIGN_IN_LIMIT_PER_IP", "20/hour", doc="Sign-in links one client IP may ask for, e.g. 20/hour",
    )

    video_room_template: str = setting(
        "BOOKING_VIDEO_ROOM_TEMPLATE", DEFAULT_VIDEO_ROOM_TEMPLATE,
        doc="Join URL of a telehealth booking; {room} becomes a new unguessable id per booking (https in production). "
            "A clinician's own video_room_url wins",
    )

    # Webhooks (Standard Webhooks): see README "Webhooks".
    webhook_allowed_networks: tuple[str, ...] = setting(
        "BOOKING_WEBHOOK_ALLOWED_NETWORKS", (),
        doc="Networks (CIDR, comma-separated) webhooks may reach in production although internal, e.g. an in-house "
            "receiver; loopback, link-local and private addresses are refused otherwise",
    )
    webhook_timeout: float = setting("BOOKING_WEBHOOK_TIMEOUT", 5.0, doc="Seconds to connect to, and to wait for, a webhook receiver")
    webhook_disable_after: int = setting(
        "BOOKING_WEBHOOK_DISABLE_AFTER", 5, doc="Disable an endpoint once this many deliveries in a row failed every attempt"
    )
    webhook_rotation_grace_hours: int = setting(
        "BOOKING_WEBHOOK_ROTATION_GRACE_HOURS", 24, doc="How long a rotated webhook secret keeps signing beside the new one"
    )
    webhook_ca_file: str = setting(
        "BOOKING_WEBHOOK_CA_FILE", "", doc="PEM file of the CA that signed webhook receivers' certificates (default: system CAs)"
    )
    webhook_interval: float = setting("BOOKING_WEBHOOK_INTERVAL", 1.0, doc="Seconds between webhook delivery polls when idle")

    # Clinicians' own calendars (CalDAV): see README "Clinicians' own calendars".
    caldav_sync_seconds: int = setting(
        "BOOKING_CALDAV_SYNC_SECONDS", 120, doc="Seconds between two syncs of a connected calendar's busy times"
    )
    caldav_sync_days: int = setting(
        "BOOKING_CALDAV_SYNC_DAYS", 180, doc="How many days ahead a sync reads a connected calendar's busy times"
    )
    caldav_timeout: float = setting("BOOKING_CALDAV_TIMEOUT", 10.0, doc="Seconds to connect to, and to wait for, a CalDAV server")
    caldav_max_megabytes: int = setting(
        "BOOKING_CALDAV_MAX_MEGABYTES", 5, doc="A CalDAV answer larger than this is refused (a recorded sync error)"
    )
    caldav_allowed_networks: tuple[str, ...] = setting(
        "BOOKING_CALDAV_ALLOWED_NETWORKS", (),
        doc="Networks (CIDR, comma-separated) CalDAV servers may be on in production although internal, e.g. an "
            "in-house calendar server; loopback, link-local and private addresses are refused otherwise",
    )
    caldav_interval: float = setting("BOOKING_CALDAV_INTERVAL", 1.0, doc="Seconds between checks for due syncs and pushes when idle")
    waitlist_offer_minutes: int = setting(
        "BOOKING_WAITLIST_OFFER_MINUTES", 30, doc="How long a freed slot is held for the waiting patient it is offered to"
    )
    waitlist_entry_days: int = setting("BOOKING_WAITLIST_ENTRY_DAYS", 60, doc="Days a waitlist entry lasts before it expires")
    waitlist_interval: float = setting(
        "BOOKING_WAITLIST_INTERVAL", 1.0, doc="Seconds between checks for freed times and lapsed offers when idle"
    )
    waitlist_sweep_seconds: float = setting(
        "BOOKING_WAITLIST_SWEEP_SECONDS", 300.0,
        doc="Seconds between sweeps that offer free slots nothing freed (hours extended, time off removed)",
    )

    def validate(self) -> None:
        super().validate()
        for env, limit in (("BOOKING_SIGN_IN_LIMIT_PER_EMAIL", self.sign_in_limit_per_email),
                           ("BOOKING_SIGN_IN_LIMIT_PER_IP", self.sign_in_limit_per_ip)):
            try:
                parse_many(limit)
            except ValueError:
                raise ConfigError(f"{env} must be like 5/hour or 3/minute;10/day, not {limit!r}") from None
        for env, networks in (("BOOKING_WEBHOOK_ALLOWED_NETWORKS", self.webhook_allowed_networks),
                              ("BOOKING_CALDAV_ALLOWED_NETWORKS", self.caldav_allowed_networks)):
            try:
                parse_networks(networks)
            except ValueError as error:
                raise ConfigError(f"{env}: {error}") from None
        if self.caldav_sync_seconds < 10 or self.caldav_sync_days < 1 or self.caldav_max_megabytes < 1:
            raise ConfigError("BOOKING_CALDAV_SYNC_SECONDS must be at least 10, BOOKING_CALDAV_SYNC_DAYS and "
                              "BOOKING_CALDAV_MAX_MEGABYTES at least 1")
        template = self.video_room_template
        check_key_list("BOOKING_CSRF_KEYS", self.csrf_keys, self.is_production)
        check_key_list("BOOKING_MANAGE_LINK_KEYS", self.manage_link_keys, self.is_production)
        problem = check_key("BOOKING_CREDENTIAL_SIGNING_KEY", self.credential_signing_key, private=True)
        if problem:
            raise ConfigError(problem)
        if self.is_production and self.credential_signing_key == DEVELOPMENT_SIGNING_KEY:
            raise ConfigError("BOOKING_CREDENTIAL_SIGNING_KEY must be set to a key of your own in production "
                              "(make compose-env writes a pair)")
        if self.two_step not in ("", "required", "optional"):
            raise ConfigError(f"BOOKING_TWO_STEP must be required or optional, not {self.two_step!r}")
        if self.console_idle_seconds < 1 or self.console_session_hours < 1:
            raise ConfigError("BOOKING_CONSOLE_IDLE_SECONDS and BOOKING_CONSOLE_SESSION_HOURS must be at least 1")
        if min(self.sign_in_max_failures, self.sign_in_max_failures_per_ip, self.sign_in_lockout_minutes) < 1:
            raise ConfigError("BOOKING_SIGN_IN_MAX_FAILURES, BOOKING_SIGN_IN_MAX_FAILURES_PER_IP and "
                              "BOOKING_SIGN_IN_LOCKOUT_MINUTES must be at least 1")
        if template.count(ROOM_PLACEHOLDER) != 1:
            raise ConfigError("BOOKING_VIDEO_ROOM_TEMPLATE must contain {room} exactly once")
        parts = urlsplit(template.replace(ROOM_PLACEHOLDER, "room"))
        if parts.scheme not in {"https", "http"} or not parts.netloc:
            raise ConfigError("BOOKING_VIDEO_ROOM_TEMPLATE must be an absolute http(s) URL")
        if self.is_production and parts.scheme != "https":
            raise ConfigError("BOOKING_VIDEO_ROOM_TEMPLATE must be an https URL in production")
        placeholder_host = urlsplit(DEFAULT_VIDEO_ROOM_TEMPLATE.replace(ROOM_PLACEHOLDER, "room")).hostname
        if self.is_production and not self.local_trial and parts.hostname == placeholder_host:
            raise ConfigError(
                f"BOOKING_VIDEO_ROOM_TEMPLATE must name your video service in production, not the placeholder {placeholder_host}"
            )

    @property
    def effective_csrf_keys(self) -> tuple[str, ...]:
        return self.csrf_keys or (derive_key(self.secret_key, "kapbook.booking.csrf-key"),)

    @property
    def effective_manage_link_keys(self) -> tuple[str, ...]:
        """Keys manage-link signatures verify with: the list (first signs), else the derived key, then
        BOOKING_SECRET_KEY itself (the key links were signed with before these lists existed)."""
        configured = self.manage_link_keys or (derive_key(self.secret_key, "kapbook.booking.manage-link-key"),)
        return configured + (self.secret_key,)

    @property
    def two_step_required(self) -> bool:
        return self.two_step == "required" or (self.two_step == "" and self.is_production)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url("booking")
