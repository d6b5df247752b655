"""A treatment series: one confirmation for the whole plan, one email when its sessions are cancelled.

Decisions:
- Each session's own ``booking.created`` plans its reminders and preparation as usual but no
  confirmation: the ``series.booked`` event plans one confirmation listing every session, with
  one invite (METHOD:REQUEST, the session's own UID and SEQUENCE) per session. The series event
  also carries every session's snapshot, so it plans the sessions' timed messages too, under the
  same dedupe keys: whichever event comes first, nothing is planned twice or lost.
- ``series.cancelled`` plans one email listing the cancelled sessions (and those that remain),
  with one CANCEL invite per cancelled session attached to it. The cancellation notice of a series
  session waits ``plan.SERIES_SETTLE`` before it goes out, so that a ``series.cancelled`` arriving just
  after the session's ``booking.cancelled`` can take its place; when the series event came first,
  the session's notice is not planned at all. A session cancelled on its own (no series event
  covers it) still gets its notice, ``SERIES_SETTLE`` late.
- Series emails are written at send time from each session's newest snapshot: a session moved
  since shows its new time, one cancelled since is left out of the confirmation, one that has
  started is left out too (its invite would come too late).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from kapbook_reminders.domain.booking import BookingSnapshot, BookingStatus, require_aware_utc
from kapbook_reminders.domain.plan import MessageKind, PlannedMessage, PlanStatus
COVERED_BY_SERIES = "covered by the email about the series"
NOTHING_TO_COME = "no session of the series was still to come"
NOTHING_CANCELLED = "no cancelled session of the series is known"
SERIES_KINDS = frozenset({MessageKind.SERIES_CONFIRMATION, MessageKind.SERIES_CANCELLATION})


def series_confirmation_dedupe_key(series_id: str) -> str:
    return f"series:{series_id}:{MessageKind.SERIES_CONFIRMATION.value}"


def series_cancellation_dedupe_key(series_id: str, cancelled_ids: Iterable[str]) -> str:
    """One email per set of cancelled sessions (a series may lose sessions twice), however often it arrives."""
    digest = hashlib.sha256(",".join(sorted(cancelled_ids)).encode()).hexdigest()[:16]
    return f"series:{series_id}:{MessageKind.SERIES_CANCELLATION.value}:{digest}"


def with_series_place(session: Mapping[str, Any], series_id: str, protocol_name: str, position: int, size: int) -> dict:
    """A session snapshot of a series event, sure to say where it sits in the series."""
    data = dict(session)
    if not data.get("series"):
        data["series"] = {"series_id": series_id, "protocol_name": protocol_name, "position": position, "size": size}
    return data


def plan_series_confirmation(series_id: str, sessions: Sequence[BookingSnapshot], now: datetime) -> PlannedMessage:
    """The one confirmation of a series, due now; skipped when no session is still to come."""
    now = require_aware_utc(now, "now")
    nothing_to_come = not sessions_to_confirm(sessions, now)
    return PlannedMessage(
        kind=MessageKind.SERIES_CONFIRMATION,
        dedupe_key=series_confirmation_dedupe_key(series_id),
        due_at=now,
        status=PlanStatus.SKIPPED if nothing_to_come else PlanStatus.SCHEDULED,
        essential=True,
        skip_reason=NOTHING_TO_COME if nothing_to_come else None,
    )


def plan_series_cancellation(series_id: str, cancelled_ids: Sequence[str], known: int, now: datetime) -> PlannedMessage:
    """The one email about a series' cancelled sessions, due now (``known``: how many of them we have seen)."""
    return PlannedMessage(
        kind=MessageKind.SERIES_CANCELLATION,
        dedupe_key=series_cancellation_dedupe_key(series_id, cancelled_ids),
        due_at=require_aware_utc(now, "now"),
        status=PlanStatus.SCHEDULED if known else PlanStatus.SKIPPED,
        essential=True,
        skip_reason=None if known else NOTHING_CANCELLED,
    )


def sessions_to_confirm(sessions: Iterable[BookingSnapshot], now: datetime) -> list[BookingSnapshot]:
    """The sessions a confirmation still lists: booked and not yet started, in series order."""
    return in_series_order(s for s in sessions if s.status is BookingStatus.BOOKED and s.start > now)


def sessions_cancelled(sessions: Iterable[BookingSnapshot]) -> list[BookingSnapshot]:
    """The cancelled sessions as their CANCEL invites must describe them.

    A session whose ``booking.cancelled`` has not arrived yet is still ``booked`` here: the
    booking service raises the sequence by one when it cancels, so its CANCEL carries that one.
    """
    return in_series_order(
        session if session.status is BookingStatus.CANCELLED
        else replace(session, status=BookingStatus.CANCELLED, sequence=session.sequence + 1)
        for session in sessions
    )


def in_series_order(sessions: Iterable[BookingSnapshot]) -> list[BookingSnapshot]:
    return sorted(sessions, key=lambda s: (s.series.position if s.series else 0, s.start))


def series_email_sessions(
    kind: MessageKind | str, context: Mapping[str, Any], now: datetime
) -> tuple[list[BookingSnapshot], list[BookingSnapshot]]:
    """What a series email lists: (sessions it is about, other sessions still to come)."""
    snapshots = {booking_id: BookingSnapshot.from_event(data) for booking_id, data in context["sessions"].items()}
    if MessageKind(kind) is MessageKind.SERIES_CONFIRMATION:
        return sessions_to_confirm(snapshots.values(), now), []
    cancelled = sessions_cancelled(snapshots[i] for i in context["cancelled_booking_ids"] if i in snapshots)
    kept = sessions_to_confirm((snapshots[i] for i in context["kept_booking_ids"] if i in snapshots), now)
    return cancelled, kept
