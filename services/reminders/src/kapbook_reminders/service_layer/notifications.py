"""Use cases behind the staff API and the unsubscribe link."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kapbook_platform.staff.audit import record_audit
from kapbook_reminders.adapters import tables as t
from kapbook_reminders.domain.unsubscribe import normalise_email
from kapbook_reminders.service_layer.dispatch import check_before_sending

# What staff see of a message: times and the delivery result, never the email's content.
LISTED_COLUMNS = (
    "id", "booking_id", "kind", "sequence", "recipient", "status", "essential", "due_at", "created_at",
    "updated_at", "sent_at", "attempts", "next_attempt_at", "result", "smtp_message_id",
)


class NotificationNotFound(LookupError):
    """There is no such notification."""


class CannotResend(ValueError):
    """The notification is not in a state that allows a resend; the message says why."""


@dataclass(frozen=True)
class NotificationFilter:
    booking_id: str | None = None
    status: str | None = None
    kind: str | None = None
    recipient: str | None = None
    limit: int = 100
    offset: int = 0


def list_notifications(sessions: sessionmaker[Session], where: NotificationFilter) -> list[dict[str, Any]]:
    """Notifications matching every given filter, by due time (then creation) ascending."""
    m = t.messages.c
    query = select(*(m[name] for name in LISTED_COLUMNS)).order_by(m.due_at, m.created_at, m.id)
    for column, value in (("booking_id", where.booking_id), ("status", where.status), ("kind", where.kind)):
        if value is not None:
            query = query.where(m[column] == value)
    if where.recipient is not None:
        query = query.where(func.lower(m.recipient) == normalise_email(where.recipient))
    with sessions() as session:
        return [dict(row) for row in session.execute(query.limit(where.limit).offset(where.offset)).mappings()]


def get_notification(session: Session, message_id: str) -> dict[str, Any]:
    m = t.messages.c
    row = session.execute(select(*(m[name] for name in LISTED_COLUMNS)).where(m.id == message_id)).mappings().first()
    if row is None:
        raise NotificationNotFound(message_id)
    return dict(row)


def resend_notification(sessions: sessionmaker[Session], message_id: str, actor: str, now: datetime) -> dict[str, Any]:
    """Queue a failed notification again, at once; audited. Raises NotificationNotFound or CannotResend."""
    with sessions.begin() as session:
        message = session.execute(select(t.messages).where(t.messages.c.id == message_id)).mappings().first()
        if message is None:
            raise NotificationNotFound(message_id)
        if message["status"] != "failed":
            raise CannotResend(f"Only failed notifications can be resent; this one is {message['status']}.")
        # A failed confirmation must not go out once the booking was cancelled or moved since.
        verdict = check_before_sending(session, dict(message), now)
        if verdict is not None:
            raise CannotResend(f"This notification can no longer be sent: {verdict.reason}.")
        session.execute(
            update(t.messages)
            .where(t.messages.c.id == message_id, t.messages.c.status == "failed")
            .values(status="scheduled", attempts=0, next_attempt_at=now, result="resend requested by staff", updated_at=now)
        )
        record_audit(session, t.PLATFORM_TABLES["audit_log"], actor, "notification.resend", f"message:{message_id}")
        return get_notification(session, message_id)


def unsubscribe(sessions: sessionmaker[Session], email: str, now: datetime) -> None:
    """Stop non-essential email to this address (idempotent; keeps the first time)."""
    email = normalise_email(email)
    prefs = t.contact_preferences
    with sessions.begin() as session:
        current = session.execute(select(prefs.c.unsubscribed_at).where(prefs.c.email == email)).first()
        if current is None:
            session.execute(prefs.insert().values(email=email, unsubscribed_at=now))
        elif current[0] is None:
            session.execute(update(prefs).where(prefs.c.email == email).values(unsubscribed_at=now))


def is_unsubscribed(sessions: sessionmaker[Session], email: str) -> bool:
    prefs = t.contact_preferences
    with sessions() as session:
        row = session.execute(select(prefs.c.unsubscribed_at).where(prefs.c.email == normalise_email(email))).first()
    return bool(row and row[0])
