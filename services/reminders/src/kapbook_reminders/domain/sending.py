"""The last check before a claimed message goes out: send it, or record why not.

Shared by the dispatcher (right before each send) and the staff resend (before queueing again).
The facts it needs are asked of a ``SendingFacts`` (the repository), and only when needed.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kapbook_reminders.domain.plan import (
    BOOKING_CHANGED,
    LINK_EXPIRED,
    OFFER_LAPSED,
    WAITLIST_KINDS,
    BookingVersion,
    MessageKind,
    is_essential,
    reason_not_to_send,
)
from kapbook_reminders.domain.series import NOTHING_CANCELLED, NOTHING_TO_COME, SERIES_KINDS, series_email_sessions

UNSUBSCRIBED = "recipient unsubscribed from non-essential email"
LINK_FORGOTTEN = "the sign-in link is no longer kept"
# Context keys that are secrets of one email: dropped from the stored message once it is done with.
SECRET_CONTEXT_KEYS: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.SIGN_IN_LINK: ("link_url",),
    MessageKind.WAITLIST_JOINED: ("leave_url",),
    MessageKind.WAITLIST_OFFER: ("claim_url", "decline_url"),
}


@dataclass(frozen=True)
class Verdict:
    """A claimed message that must not be sent, and what to record instead."""

    status: str
    reason: str


class SendingFacts(Protocol):
    def is_unsubscribed(self, email: str) -> bool: ...

    def latest_version(self, booking_id: str) -> BookingVersion | None: ...

    def later_reminder_due(self, message: Mapping[str, Any], now: datetime) -> bool: ...

    def series_sessions(self, booking_ids: list[str]) -> dict[str, dict[str, Any]]: ...


def check_before_sending(facts: SendingFacts, message: Mapping[str, Any], now: datetime) -> Verdict | None:
    """Why this stored message must not go out now (see ``reason_not_to_send``), or None to send it."""
    if not is_essential(message["kind"]) and facts.is_unsubscribed(message["recipient"]):
        return Verdict("skipped", UNSUBSCRIBED)
    if message["kind"] == MessageKind.SIGN_IN_LINK:
        return sign_in_link_verdict(message["context"], now)
    if message["kind"] in WAITLIST_KINDS:
        return waitlist_verdict(message["kind"], message["context"], now)
    if message["kind"] in SERIES_KINDS:
        return series_verdict(message["kind"], with_newest_sessions(facts, message)["context"], now)
    if message["booking_id"] is None:
        return None  # a staff alert: always sent
    reason = reason_not_to_send(
        message["kind"],
        sequence=message["sequence"],
        start=datetime.fromisoformat(message["context"]["start"]),
        now=now,
        latest=facts.latest_version(message["booking_id"]),
        later_reminder_due=message["kind"] == MessageKind.REMINDER and facts.later_reminder_due(message, now),
    )
    if reason is None:
        return None
    return Verdict("cancelled" if reason == BOOKING_CHANGED else "skipped", reason)


def sign_in_link_verdict(context: Mapping[str, Any], now: datetime) -> Verdict | None:
    """A sign-in link goes out only while it still works (a backlog after an outage must not send dead links)."""
    if not context.get("link_url"):
        return Verdict("skipped", LINK_FORGOTTEN)
    if datetime.fromisoformat(context["expires_at"]) <= now:
        return Verdict("skipped", LINK_EXPIRED)
    return None


def waitlist_verdict(kind: MessageKind | str, context: Mapping[str, Any], now: datetime) -> Verdict | None:
    """An offer goes out only while it is still held (a backlog must not send a time already passed on);
    the joined email while the entry lasts."""
    if any(key not in context for key in SECRET_CONTEXT_KEYS[MessageKind(kind)]):
        return Verdict("skipped", LINK_FORGOTTEN)
    if datetime.fromisoformat(context["expires_at"]) <= now:
        return Verdict("skipped", OFFER_LAPSED)
    return None


def without_secrets(kind: MessageKind | str, context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The context to keep once the message is sent or given up on, or None when nothing in it is secret."""
    secrets = SECRET_CONTEXT_KEYS.get(MessageKind(kind), ())
    if not any(key in context for key in secrets):
        return None
    return {key: value for key, value in context.items() if key not in secrets}


def with_newest_sessions(facts: SendingFacts, message: Mapping[str, Any]) -> dict[str, Any]:
    """The message, a series email written from each session's newest snapshot (others unchanged)."""
    if message["kind"] not in SERIES_KINDS:
        return dict(message)
    context = message["context"]
    wanted = [*context["sessions"], *context.get("cancelled_booking_ids", ()), *context.get("kept_booking_ids", ())]
    newest = facts.series_sessions(list(dict.fromkeys(wanted)))
    return dict(message) | {"context": context | {"sessions": context["sessions"] | newest}}


def series_verdict(kind: MessageKind | str, context: Mapping[str, Any], now: datetime) -> Verdict | None:
    """A series email with nothing left to say is not sent: every session moved on, or none is known."""
    sessions, _ = series_email_sessions(kind, context, now)
    if sessions:
        return None
    if MessageKind(kind) is MessageKind.SERIES_CONFIRMATION:
        return Verdict("cancelled", NOTHING_TO_COME)
    return Verdict("skipped", NOTHING_CANCELLED)
