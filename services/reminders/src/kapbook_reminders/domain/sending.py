"""The last check before a claimed message goes out: send it, or record why not.

Shared by the dispatcher (right before each send) and the staff resend (before queueing again).
The facts it needs are asked of a ``SendingFacts`` (the repository), and only when needed.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kapbook_reminders.domain.plan import BOOKING_CHANGED, BookingVersion, MessageKind, is_essential, reason_not_to_send

UNSUBSCRIBED = "recipient unsubscribed from non-essential email"


@dataclass(frozen=True)
class Verdict:
    """A claimed message that must not be sent, and what to record instead."""

    status: str
    reason: str


class SendingFacts(Protocol):
    def is_unsubscribed(self, email: str) -> bool: ...

    def latest_version(self, booking_id: str) -> BookingVersion | None: ...

    def later_reminder_due(self, message: Mapping[str, Any], now: datetime) -> bool: ...


def check_before_sending(facts: SendingFacts, message: Mapping[str, Any], now: datetime) -> Verdict | None:
    """Why this stored message must not go out now (see ``reason_not_to_send``), or None to send it."""
    if not is_essential(message["kind"]) and facts.is_unsubscribed(message["recipient"]):
        return Verdict("skipped", UNSUBSCRIBED)
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
