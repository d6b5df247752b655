"""Turns a stored message into the email to send, with the clinic's branding."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from kapbook_platform.contracts.check_in_links import CheckInLink, CheckInOccasion, make_check_in_token
from kapbook_reminders.config import RemindersConfig
from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.branding import ClinicBranding
from kapbook_reminders.domain.compose import (
    compose_crisis_alerts,
    compose_email,
    compose_password_reset,
    compose_series_email,
    compose_sign_in_link,
    compose_waitlist_email,
    compose_webhook_disabled,
)
from kapbook_reminders.domain.plan import WAITLIST_KINDS, MessageKind, crisis_screenings
from kapbook_reminders.domain.plan_config import NotificationPlans
from kapbook_reminders.domain.series import SERIES_KINDS, series_email_sessions
from kapbook_reminders.domain.unsubscribe import unsubscribe_token

UNSUBSCRIBE_PATH = "/api/reminders/v1/unsubscribe"
# The eligibility service's check-in page (the gateway sends /api/eligibility/ there).
CHECK_IN_PATH = "/api/eligibility/v1/check-in"
CHECK_IN_OCCASIONS = {MessageKind.CHECK_IN_BEFORE_DOSE: CheckInOccasion.BEFORE_DOSE,
                      MessageKind.CHECK_IN_AFTER_INTEGRATION: CheckInOccasion.AFTER_INTEGRATION}


def branding_from_config(config: RemindersConfig) -> ClinicBranding:
    return ClinicBranding(
        name=config.clinic_name,
        from_address=config.mail_from,
        reply_to=config.mail_reply_to,
        brand_colour=config.clinic_brand_colour,
        website_url=config.clinic_website,
        postal_address=config.clinic_postal_address,
    )


@dataclass(frozen=True)
class MessageComposer:
    branding: ClinicBranding
    public_base_url: str
    plans: NotificationPlans
    unsubscribe_key: bytes
    check_in_keys: tuple[str, ...] = ()
    check_in_valid_for: timedelta = timedelta(hours=72)

    @classmethod
    def from_config(cls, config: RemindersConfig, plans: NotificationPlans) -> MessageComposer:
        return cls(branding_from_config(config), config.public_base_url, plans, config.unsubscribe_key,
                   config.check_in_keys, timedelta(hours=config.check_in_link_valid_hours))

    def __call__(self, message: dict[str, Any], now: datetime) -> EmailMessage:
        kind = MessageKind(message["kind"])
        context = message["context"]
        if kind is MessageKind.CRISIS_ALERT:
            return compose_crisis_alerts(crisis_screenings(context), message["recipient"], self.branding, now)
        if kind is MessageKind.SIGN_IN_LINK:
            return compose_sign_in_link(
                context["event_id"], message["recipient"], context.get("name"), context["link_url"],
                datetime.fromisoformat(context["expires_at"]), self.branding, now,
            )
        if kind in WAITLIST_KINDS:
            return compose_waitlist_email(kind, context["event_id"], message["recipient"], context, self.branding, now)
        if kind is MessageKind.WEBHOOK_DISABLED:
            console_url = f"{self.public_base_url.rstrip('/')}/staff/webhooks/{context['endpoint_id']}"
            return compose_webhook_disabled(context["event_id"], message["recipient"], context, console_url,
                                            self.branding, now)
        if kind in SERIES_KINDS:
            sessions, others = series_email_sessions(kind, context, now)
            recipient = Address(display_name=context["patient"]["name"], addr_spec=message["recipient"])
            return compose_series_email(kind, sessions, others, context["protocol"]["name"], self.branding,
                                        recipient=recipient, now=now, dedupe_key=message["dedupe_key"])
        if kind is MessageKind.STAFF_PASSWORD_RESET:
            return compose_password_reset(context["name"], context["link_url"], datetime.fromisoformat(context["expires_at"]),
                                          message["recipient"], context["reset_id"], self.branding, now)
        snapshot = BookingSnapshot.from_event(context)
        previous_start = context.get("previous_start")
        return compose_email(
            kind,
            snapshot,
            self.branding,
            now=now,
            dedupe_key=message["dedupe_key"],
            # Every message of a dosing booking carries the preparation checklist, not only the
            # preparation message: a booking made late never gets that one.
            preparation=self.plans.for_booking(snapshot).preparation,
            unsubscribe_url=None if message["essential"] else self.unsubscribe_url(message["recipient"]),
            previous_start=datetime.fromisoformat(previous_start) if previous_start else None,
            check_in_url=self.check_in_url(kind, snapshot, now) if kind in CHECK_IN_OCCASIONS else None,
        )

    def check_in_url(self, kind: MessageKind, snapshot: BookingSnapshot, now: datetime) -> str:
        """The patient's check-in link, minted at send time (never stored): until the dose starts, or a few days."""
        occasion = CHECK_IN_OCCASIONS[kind]
        expires_at = snapshot.start if occasion is CheckInOccasion.BEFORE_DOSE else now + self.check_in_valid_for
        link = CheckInLink(snapshot.booking_id, occasion, snapshot.patient_email, snapshot.patient_name,
                           snapshot.start, expires_at)
        token = make_check_in_token(link, self.check_in_keys)
        return f"{self.public_base_url.rstrip('/')}{CHECK_IN_PATH}?{urlencode({'token': token})}"

    def unsubscribe_url(self, email: str) -> str:
        token = unsubscribe_token(email, self.unsubscribe_key)
        return f"{self.public_base_url.rstrip('/')}{UNSUBSCRIBE_PATH}?{urlencode({'token': token})}"
