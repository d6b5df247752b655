"""Use cases behind the staff API and the unsubscribe link."""
from __future__ import annotations

from dataclasses import dataclass

from datetime import datetime
from typing import Any

from kapbook_reminders.adapters.repository import MessageStore, NotificationFilter, RemindersRepository
from kapbook_reminders.domain.sending import check_before_sending

__all__ = [
    "CannotResend", "NotificationFilter", "NotificationNotFound", "get_notification", "is_unsubscribed",
    "list_notifications", "resend_notification", "unsubscribe",
]


class NotificationNotFound(LookupError):
    """There is no such notification."""


class CannotResend(ValueError):
    """The notification is not in a state that allows a resend; the message says why."""


@dataclass(frozen=True)
class Reader:
    """Who reads the notification log, from where: each read leaves an audit row."""

    staff_id: str
    ip: str | None


def list_notifications(store: MessageStore, where: NotificationFilter, reader: Reader) -> list[dict[str, Any]]:
    """Notifications matching every given filter, by due time (then creation) ascending; the read is audited."""
    with store.begin() as repository:
        listed = repository.list_notifications(where)
        # Which filters were used, never their values: a recipient filter is an email address.
        used = sorted(name for name in ("booking_id", "status", "kind", "recipient") if getattr(where, name))
        target = f"booking:{where.booking_id}" if where.booking_id else "all"
        repository.record_audit(reader.staff_id, "notification_log.viewed", f"notification_log:{target}",
                                {"ip": reader.ip, "filters": used, "rows": len(listed)})
        return listed


def get_notification(store: MessageStore, message_id: str, reader: Reader) -> dict[str, Any]:
    """What staff see of one notification, audited; raises NotificationNotFound."""
    with store.begin() as repository:
        listed = _listed(repository, message_id)
        repository.record_audit(reader.staff_id, "notification.viewed", f"message:{message_id}", {"ip": reader.ip})
        return listed


def resend_notification(store: MessageStore, message_id: str, actor: str, now: datetime) -> dict[str, Any]:
    """Queue a failed notification again, at once; audited. Raises NotificationNotFound or CannotResend."""
    with store.begin() as repository:
        message = repository.message(message_id)
        if message is None:
            raise NotificationNotFound(message_id)
        if message["status"] != "failed":
            raise CannotResend(f"Only failed notifications can be resent; this one is {message['status']}.")
        # A failed confirmation must not go out once the booking was cancelled or moved since.
        verdict = check_before_sending(repository, message, now)
        if verdict is not None:
            raise CannotResend(f"This notification can no longer be sent: {verdict.reason}.")
        repository.requeue_failed(message_id, now, result="resend requested by staff")
        repository.record_audit(actor, "notification.resend", f"message:{message_id}")
        return _listed(repository, message_id)


def unsubscribe(store: MessageStore, email: str, now: datetime) -> None:
    """Stop non-essential email to this address (idempotent; keeps the first time)."""
    with store.begin() as repository:
        repository.unsubscribe(email, now)


def is_unsubscribed(store: MessageStore, email: str) -> bool:
    with store.read() as repository:
        return repository.is_unsubscribed(email)


def _listed(repository: RemindersRepository, message_id: str) -> dict[str, Any]:
    notification = repository.notification(message_id)
    if notification is None:
        raise NotificationNotFound(message_id)
    return notification
