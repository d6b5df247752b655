"""The reminders service's configuration, from the environment."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from kapbook_platform.config import ConfigError, PlatformConfig, check_key_list, setting
from kapbook_platform.contracts.check_in_links import check_fernet_keys, check_in_link_keys
from kapbook_platform.staff.signing import DEVELOPMENT_VERIFY_KEY, check_key
from kapbook_reminders.adapters.smtp import SECURITY_MODES


@dataclass(frozen=True)
class RemindersConfig(PlatformConfig):
    service_name: ClassVar[str] = "reminders"

    database_url: str = setting("REMINDERS_DATABASE_URL", "", doc="SQLAlchemy URL (default: SQLite under var/)")
    credential_verify_key: str = setting(
        "KAPBOOK_CREDENTIAL_VERIFY_KEY", DEVELOPMENT_VERIFY_KEY,
        doc="Ed25519 public key (base64url) the booking service's staff credential events are verified with; "
            "pairs with BOOKING_CREDENTIAL_SIGNING_KEY (make compose-env writes both)",
    )
    unsubscribe_keys: tuple[str, ...] = setting(
        "REMINDERS_UNSUBSCRIBE_KEYS", (),
        doc="Keys of the unsubscribe links in emails, comma-separated: the first signs, every one verifies; links "
            "signed with the key derived from KAPBOOK_SERVICE_TOKEN (the default) keep working while that token is unchanged",
    )
    smtp_host: str = setting("SMTP_HOST", "127.0.0.1", doc="SMTP server host")
    smtp_port: int = setting("SMTP_PORT", 8025, doc="SMTP server port")
    smtp_security: str = setting("SMTP_SECURITY", "none", doc="none, starttls or tls (implicit TLS)")
    smtp_username: str = setting("SMTP_USERNAME", "", doc="SMTP login (empty: no authentication)")
    smtp_password: str = setting("SMTP_PASSWORD", "", doc="SMTP password")
    smtp_timeout: float = setting("SMTP_TIMEOUT", 10.0, doc="Seconds before an SMTP attempt counts as failed")
    smtp_ca_file: str = setting(
        "SMTP_CA_FILE", "", doc="PEM file of the CA that signed the SMTP server's certificate (default: system CAs)"
    )
    clinic_name: str = setting("CLINIC_NAME", "Kapbook Demo Clinic", doc="Shown in every email")
    mail_from: str = setting("MAIL_FROM", "appointments@clinic.example", doc="From address of patient emails")
    mail_reply_to: str = setting("MAIL_REPLY_TO", "frontdesk@clinic.example", doc="Reply-To of patient emails")
    clinic_website: str = setting("CLINIC_WEBSITE", "https://clinic.example", doc="The clinic's own website")
    clinic_postal_address: str = setting(
        "CLINIC_POSTAL_ADDRESS", "120 W 57th St, New York, NY 10019", doc="Postal address in email footers"
    )
    clinic_brand_colour: str = setting("CLINIC_BRAND_COLOUR", "#1f5f5b", doc="Accent colour of emails (#rrggbb)")
    oncall_email: str = setting("ONCALL_EMAIL", "oncall@clinic.example", doc="Who is alerted at once about a crisis screening")
    crisis_alert_window: float = setting(
        "CRISIS_ALERT_WINDOW", 120.0,
        doc="Seconds after a crisis alert in which further crisis screenings are gathered into one follow-up alert "
            "sent at the end of the window (the first alert after a quiet period always goes out at once; 0: no "
            "follow-up wait; a screening still joins an alert not sent yet)",
    )
    check_in_link_keys: tuple[str, ...] = setting(
        "KAPBOOK_CHECK_IN_LINK_KEYS", (),
        doc="Fernet keys of the check-in links in emails, comma-separated, newest first; the eligibility service "
            "must have the same list (default: a key derived from KAPBOOK_SERVICE_TOKEN, which both share)",
    )
    check_in_link_valid_hours: float = setting(
        "CHECK_IN_LINK_VALID_HOURS", 72.0,
        doc="How long the check-in link after an integration session works (the one before a dosing session works "
            "until the session starts); the lead times themselves are plan fields (NOTIFICATION_PLANS_FILE)",
    )
    notification_plans_file: str = setting(
        "NOTIFICATION_PLANS_FILE", "", doc="JSON file replacing the default notification plans (optional)"
    )
    dispatch_interval: float = setting("DISPATCH_INTERVAL", 0.2, doc="Seconds between dispatcher polls when idle")
    dispatch_batch: int = setting("DISPATCH_BATCH", 50, doc="Messages one dispatcher claims at a time")
    dispatch_lease: float = setting(
        "DISPATCH_LEASE", 120.0,
        doc="Seconds a dispatcher holds the messages it claimed; if it dies, another sends them after this "
            "(keep it well above SMTP_TIMEOUT)",
    )
    max_send_attempts: int = setting(
        "MAX_SEND_ATTEMPTS", 10, doc="Attempts before a temporarily failing message is failed (backoff 30 s to 30 min)"
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url("reminders")

    @property
    def unsubscribe_key(self) -> bytes:
        """Signs unsubscribe links: the first of REMINDERS_UNSUBSCRIBE_KEYS, else the derived default."""
        return self.unsubscribe_verify_keys[0]

    @property
    def unsubscribe_verify_keys(self) -> tuple[bytes, ...]:
        """Every key an unsubscribe link verifies with. The key derived from the service token (which
        production requires to be secret) comes last: links in emails never expire, so old ones keep
        working when the list is first set; changing KAPBOOK_SERVICE_TOKEN retires it."""
        derived = hashlib.sha256(b"kapbook-reminders-unsubscribe-key:" + self.service_token.encode("utf-8")).digest()
        return tuple(key.encode("utf-8") for key in self.unsubscribe_keys) + (derived,)

    @property
    def check_in_keys(self) -> tuple[str, ...]:
        return check_in_link_keys(self.check_in_link_keys, self.service_token)

    @property
    def plans_path(self) -> Path | None:
        return Path(self.notification_plans_file) if self.notification_plans_file else None

    def validate(self) -> None:
        super().validate()
        check_key_list("REMINDERS_UNSUBSCRIBE_KEYS", self.unsubscribe_keys, self.is_production)
        problem = check_key("KAPBOOK_CREDENTIAL_VERIFY_KEY", self.credential_verify_key, private=False)
        if problem:
            raise ConfigError(problem)
        if self.is_production and self.credential_verify_key == DEVELOPMENT_VERIFY_KEY:
            raise ConfigError("KAPBOOK_CREDENTIAL_VERIFY_KEY must be your booking service's key in production, "
                              "not the development one (make compose-env writes a pair)")
        if self.smtp_security not in SECURITY_MODES:
            raise ConfigError("SMTP_SECURITY must be none, starttls or tls")
        if self.smtp_password and not self.smtp_username:
            raise ConfigError("SMTP_PASSWORD is set but SMTP_USERNAME is not")
        if self.smtp_username and self.smtp_security == "none" and self.is_production:
            raise ConfigError("SMTP authentication needs SMTP_SECURITY=starttls or tls in production")
        if self.smtp_security == "none" and self.is_production and not self.local_trial:
            raise ConfigError(
                "SMTP_SECURITY must be starttls or tls in production (emails carry manage links); "
                "only KAPBOOK_LOCAL_TRIAL=1 allows none, for an SMTP sink such as Mailpit"
    )
        if min(self.dispatch_batch, self.max_send_attempts) < 1:
            raise ConfigError("DISPATCH_BATCH and MAX_SEND_ATTEMPTS must be at least 1")
        if not 0 <= self.crisis_alert_window <= 900:
            raise ConfigError("CRISIS_ALERT_WINDOW must be between 0 and 900 seconds (on-call must hear soon)")
        # Like the unsubscribe keys: optional (derived from the service token, itself checked), never a weak one.
        check_key_list("KAPBOOK_CHECK_IN_LINK_KEYS", self.check_in_link_keys, self.is_production)
        check_fernet_keys("KAPBOOK_CHECK_IN_LINK_KEYS", self.check_in_link_keys)
        if self.check_in_link_valid_hours <= 0:
            raise ConfigError("CHECK_IN_LINK_VALID_HOURS must be greater than zero")
        if self.dispatch_lease <= self.smtp_timeout:
            raise ConfigError("DISPATCH_LEASE must be longer than SMTP_TIMEOUT, or a slow send would be taken over")
