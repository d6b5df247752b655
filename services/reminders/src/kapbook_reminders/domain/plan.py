"""Which messages a booking gets, and when.

Every planning function returns the complete set of messages the booking
should have as of this snapshot. The caller (service layer) stores each one
whose `dedupe_key` it has not stored before, and cancels the booking's pending
messages whose key is not in the set. So an event processed twice plans
nothing twice, and a change (new sequence, new keys) retires what it replaces.

Decisions:
- A reminder or preparation message whose due time is not in the future when
  planned is recorded as `skipped`, never sent at once.
- Messages sent at once (confirmation, change and cancellation notices) are
  skipped once the appointment has started: they would inform too late.
- Times are planned in UTC, so "24 h before" is 24 elapsed hours, also across
  a daylight-saving change.
- No-show: nothing more is sent. Fulfilled: only the follow-up, if the plan
  has one (a dosing session that happened still deserves it); it keeps its
  original due time and is skipped if that has passed.
- At send time a message is checked once more (`reason_not_to_send`): the
  booking may have changed since, or the sender may have been down for a while.
  A message about the visit to come is never sent once the visit has started,
  and a reminder whose later reminder is already due is skipped, so a backlog
  does not arrive all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from kapbook_reminders.domain.booking import BookingSnapshot, BookingStatus, Category, require_aware_utc
from kapbook_reminders.domain.plan_config import NotificationPlan


class MessageKind(StrEnum):
    CONFIRMATION = "confirmation"
    REMINDER = "reminder"
    PREPARATION = "preparation"
    FOLLOW_UP = "follow_up"
    RESCHEDULE_NOTICE = "reschedule_notice"
    CANCELLATION_NOTICE = "cancellation_notice"
    CRISIS_ALERT = "crisis_alert"
    # A one-time sign-in link to "My appointments", asked for by the patient (no booking).
    SIGN_IN_LINK = "sign_in_link"
    # A treatment series: one confirmation for all its sessions, one email when sessions are cancelled.
    SERIES_CONFIRMATION = "series_confirmation"
    SERIES_CANCELLATION = "series_cancellation"
    # Staff: the booking service disabled a webhook endpoint after sustained failure (admins).
    WEBHOOK_DISABLED = "webhook_disabled"
    STAFF_PASSWORD_RESET = "staff_password_reset"
    # Staff replaced a booking's manage link: the patient gets the new one (the old ones stopped working).
    MANAGE_LINK_REPLACED = "manage_link_replaced"
    # Measurement-based care: a link to a short PHQ-9 / GAD-7 check-in (the eligibility service's page)
    # before each dosing session and after each integration session.
    CHECK_IN_BEFORE_DOSE = "check_in_before_dose"
    CHECK_IN_AFTER_INTEGRATION = "check_in_after_integration"
    # The waitlist: the patient joined it (with the leave link), and a freed time is held for them.
    WAITLIST_JOINED = "waitlist_joined"
    WAITLIST_OFFER = "waitlist_offer"


class PlanStatus(StrEnum):
    SCHEDULED = "scheduled"
    SKIPPED = "skipped"


# Non-essential messages honour an unsubscribe; essential ones are part of the
# service the patient booked (the preparation message carries safety steps).
NON_ESSENTIAL_KINDS = frozenset({MessageKind.FOLLOW_UP, MessageKind.CHECK_IN_BEFORE_DOSE,
                                 MessageKind.CHECK_IN_AFTER_INTEGRATION})
CHECK_IN_KINDS = frozenset({MessageKind.CHECK_IN_BEFORE_DOSE, MessageKind.CHECK_IN_AFTER_INTEGRATION})
SEND_ORDER = tuple(MessageKind)
# The booking statuses for which a message still makes sense at send time;
# a follow-up may go out before staff have marked the visit fulfilled.
RELEVANT_STATUSES: dict[MessageKind, frozenset[BookingStatus]] = {
    MessageKind.CONFIRMATION: frozenset({BookingStatus.BOOKED}),
    MessageKind.REMINDER: frozenset({BookingStatus.BOOKED}),
    MessageKind.PREPARATION: frozenset({BookingStatus.BOOKED}),
    MessageKind.RESCHEDULE_NOTICE: frozenset({BookingStatus.BOOKED}),
    MessageKind.CANCELLATION_NOTICE: frozenset({BookingStatus.CANCELLED}),
    MessageKind.FOLLOW_UP: frozenset({BookingStatus.BOOKED, BookingStatus.FULFILLED}),
    MessageKind.MANAGE_LINK_REPLACED: frozenset({BookingStatus.BOOKED}),
    MessageKind.CHECK_IN_BEFORE_DOSE: frozenset({BookingStatus.BOOKED}),
    MessageKind.CHECK_IN_AFTER_INTEGRATION: frozenset({BookingStatus.BOOKED, BookingStatus.FULFILLED}),
}
DUE_TIME_PASSED = "due time had already passed when planned"
APPOINTMENT_STARTED = "appointment had already started when planned"
# Messages about a visit still to come: pointless once it has started.
ABOUT_THE_VISIT_TO_COME = frozenset(
    {MessageKind.CONFIRMATION, MessageKind.REMINDER, MessageKind.PREPARATION, MessageKind.RESCHEDULE_NOTICE,
     MessageKind.MANAGE_LINK_REPLACED, MessageKind.CHECK_IN_BEFORE_DOSE}
)
BOOKING_CHANGED = "the booking changed after this message was planned"
STARTED_BEFORE_SENDING = "appointment had already started when the message could be sent"
OVERTAKEN = "a later reminder for the same appointment was already due"
LINK_EXPIRED = "the sign-in link had expired"
OFFER_LAPSED = "the waitlist offer had lapsed"
# How long a series session's own cancellation notice waits for a series.cancelled to cover it
# (see series.py). The booking service writes both in one transaction: they arrive moments apart.
SERIES_SETTLE = timedelta(seconds=30)


@dataclass(frozen=True)
class PlannedMessage:
    """One message to send (or deliberately not send) for a booking."""

    kind: MessageKind
    dedupe_key: str
    due_at: datetime
    status: PlanStatus
    essential: bool
    skip_reason: str | None = None


def is_essential(kind: MessageKind) -> bool:
    return MessageKind(kind) not in NON_ESSENTIAL_KINDS


def is_still_relevant(kind: MessageKind, status: BookingStatus) -> bool:
    """Whether a booking message may still be sent for a booking in this status."""
    return BookingStatus(status) in RELEVANT_STATUSES.get(MessageKind(kind), frozenset())


@dataclass(frozen=True)
class BookingVersion:
    """The newest version of a booking the reminders service has seen."""

    sequence: int
    status: BookingStatus
    # When the appointment starts in this version: a reschedule notice tells the old time from it.
    start: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", BookingStatus(self.status))

    def supersedes(self, sequence: int, status: BookingStatus | str) -> bool:
        """Whether an event at (`sequence`, `status`) is older than this version and must be ignored.

        A higher sequence is newer. At the same sequence an ended booking (cancelled, no-show,
        fulfilled) beats `booked`, so a late duplicate of the creation cannot revive it.
        """
        if sequence != self.sequence:
            return sequence < self.sequence
        return BookingStatus(status) is BookingStatus.BOOKED and self.status is not BookingStatus.BOOKED


def reason_not_to_send(
    kind: MessageKind | str,
    *,
    sequence: int,
    start: datetime,
    now: datetime,
    latest: BookingVersion | None,
    later_reminder_due: bool = False,
) -> str | None:
    """Why a planned booking message must not go out now, or None to send it.

    `latest` is the newest known version of the booking (None if unknown);
    `later_reminder_due` says whether a later reminder of the same version is due too.
    """
    kind = MessageKind(kind)
    if latest is not None and (sequence < latest.sequence or not is_still_relevant(kind, latest.status)):
        return BOOKING_CHANGED
    if kind in ABOUT_THE_VISIT_TO_COME and require_aware_utc(now, "now") >= require_aware_utc(start, "start"):
        return STARTED_BEFORE_SENDING
    if kind is MessageKind.REMINDER and later_reminder_due:
        return OVERTAKEN
    return None


def plan_messages(snapshot: BookingSnapshot, plan: NotificationPlan, now: datetime) -> list[PlannedMessage]:
    """A new booking: confirmation now, then reminders, preparation and follow-up.

    A session of a series gets no confirmation of its own: the series' confirmation lists it.
    """
    require_status(snapshot, BookingStatus.BOOKED)
    timed = timed_messages(snapshot, plan, now)
    if snapshot.series is not None:
        return in_send_order(timed)
    confirmation = message_sent_at_once(snapshot, MessageKind.CONFIRMATION, "at-booking", now)
    return in_send_order([confirmation, *timed])


def plan_for_reschedule(snapshot: BookingSnapshot, plan: NotificationPlan, now: datetime) -> list[PlannedMessage]:
    """A changed booking: a change notice now and fresh timed messages for the new time."""
    require_status(snapshot, BookingStatus.BOOKED)
    notice = message_sent_at_once(snapshot, MessageKind.RESCHEDULE_NOTICE, "at-change", now)
    return in_send_order([notice, *timed_messages(snapshot, plan, now)])


def plan_for_cancellation(snapshot: BookingSnapshot, now: datetime, *, covered: bool = False) -> list[PlannedMessage]:
    """A cancelled booking: the cancellation notice only.

    A series session's notice waits ``SERIES_SETTLE`` for a series.cancelled that may cover it;
    ``covered``: one has already (its email carries this session's CANCEL), so no notice at all.
    """
    require_status(snapshot, BookingStatus.CANCELLED)
    if covered:
        return []
    notice = message_sent_at_once(snapshot, MessageKind.CANCELLATION_NOTICE, "at-cancel", now)
    if snapshot.series is not None and notice.status is PlanStatus.SCHEDULED:
        notice = replace(notice, due_at=notice.due_at + SERIES_SETTLE)
    return [notice]


def plan_after_visit(snapshot: BookingSnapshot, plan: NotificationPlan, now: datetime) -> list[PlannedMessage]:
    """A fulfilled booking keeps only its follow-up and its after-session check-in; a no-show gets nothing more."""
    if snapshot.status is BookingStatus.NOSHOW:
        return []
    require_status(snapshot, BookingStatus.FULFILLED)
    kept = [] if plan.follow_up_after_end is None else [follow_up(snapshot, plan.follow_up_after_end, now)]
    return kept + [message for message in check_ins(snapshot, plan, now)
                   if message.kind is MessageKind.CHECK_IN_AFTER_INTEGRATION]


def timed_messages(snapshot: BookingSnapshot, plan: NotificationPlan, now: datetime) -> list[PlannedMessage]:
    """Reminders, preparation and follow-up for the snapshot's start and end."""
    messages = [
        timed_message(snapshot, MessageKind.REMINDER, snapshot.start - offset, f"{duration_label(offset)}-before", now)
        for offset in plan.reminder_offsets
    ]
    if plan.preparation is not None:
        offset = plan.preparation.send_before
        label = f"{duration_label(offset)}-before"
        messages.append(timed_message(snapshot, MessageKind.PREPARATION, snapshot.start - offset, label, now))
    if plan.follow_up_after_end is not None:
        messages.append(follow_up(snapshot, plan.follow_up_after_end, now))
    return messages + check_ins(snapshot, plan, now)


def check_ins(snapshot: BookingSnapshot, plan: NotificationPlan, now: datetime) -> list[PlannedMessage]:
    """The check-in before a dosing session and the one after an integration session, as the plan sets them.

    They are timed messages like reminders: a new sequence retires them (reschedule, cancellation),
    and one whose time has passed when planned is skipped.
    """
    messages = []
    if plan.check_in_before is not None and snapshot.category.is_dosing:
        label = f"{duration_label(plan.check_in_before)}-before"
        messages.append(timed_message(snapshot, MessageKind.CHECK_IN_BEFORE_DOSE, snapshot.start - plan.check_in_before,
                                      label, now))
    if plan.check_in_after_end is not None and snapshot.category is Category.INTEGRATION:
        label = f"{duration_label(plan.check_in_after_end)}-after-end"
        messages.append(timed_message(snapshot, MessageKind.CHECK_IN_AFTER_INTEGRATION,
                                      snapshot.end + plan.check_in_after_end, label, now))
    return messages


def follow_up(snapshot: BookingSnapshot, delay: timedelta, now: datetime) -> PlannedMessage:
    label = f"{duration_label(delay)}-after-end"
    return timed_message(snapshot, MessageKind.FOLLOW_UP, snapshot.end + delay, label, now)


def timed_message(
    snapshot: BookingSnapshot, kind: MessageKind, due_at: datetime, label: str, now: datetime
) -> PlannedMessage:
    """A message due at a fixed time; skipped if that time is not in the future."""
    passed = due_at <= require_aware_utc(now, "now")
    return PlannedMessage(
        kind=kind,
        dedupe_key=dedupe_key(snapshot, kind, label),
        due_at=due_at,
        status=PlanStatus.SKIPPED if passed else PlanStatus.SCHEDULED,
        essential=is_essential(kind),
        skip_reason=DUE_TIME_PASSED if passed else None,
    )


def message_sent_at_once(snapshot: BookingSnapshot, kind: MessageKind, label: str, now: datetime) -> PlannedMessage:
    """A message due now; skipped if the appointment has already started."""
    now = require_aware_utc(now, "now")
    started = now >= snapshot.start
    return PlannedMessage(
        kind=kind,
        dedupe_key=dedupe_key(snapshot, kind, label),
        due_at=now,
        status=PlanStatus.SKIPPED if started else PlanStatus.SCHEDULED,
        essential=is_essential(kind),
        skip_reason=APPOINTMENT_STARTED if started else None,
    )


def plan_manage_link_replaced(snapshot: BookingSnapshot, now: datetime) -> PlannedMessage:
    """The new manage link goes out at once, once per link; none once the visit has started.

    The key names the link by a digest (never the link itself), so the same link delivered twice is one email.
    """
    require_status(snapshot, BookingStatus.BOOKED)
    digest = hashlib.sha256(snapshot.manage_url.encode()).hexdigest()[:16]
    return message_sent_at_once(snapshot, MessageKind.MANAGE_LINK_REPLACED, f"link-{digest}", now)


def dedupe_key(snapshot: BookingSnapshot, kind: MessageKind, label: str) -> str:
    """Stable for the same booking version; new for every sequence."""
    return f"{snapshot.booking_id}:{snapshot.sequence}:{kind.value}:{label}"


def sign_in_link_dedupe_key(event_id: str) -> str:
    """One email per sign-in link event, however often it arrives."""
    return f"sign-in:{event_id}:{MessageKind.SIGN_IN_LINK.value}"


def plan_sign_in_link(event_id: str, expires_at: datetime, now: datetime) -> PlannedMessage:
    """The sign-in link goes out at once; one that has already expired is recorded, never sent."""
    expired = require_aware_utc(expires_at, "expires_at") <= require_aware_utc(now, "now")
    return PlannedMessage(
        kind=MessageKind.SIGN_IN_LINK,
        dedupe_key=sign_in_link_dedupe_key(event_id),
        due_at=now,
        status=PlanStatus.SKIPPED if expired else PlanStatus.SCHEDULED,
        essential=True,  # the patient asked for it: an unsubscribe does not stop it
        skip_reason=LINK_EXPIRED if expired else None,
    )


WAITLIST_KINDS = frozenset({MessageKind.WAITLIST_JOINED, MessageKind.WAITLIST_OFFER})


def waitlist_dedupe_key(kind: MessageKind, event_id: str) -> str:
    """One email per waitlist event, however often it arrives."""
    return f"waitlist:{event_id}:{kind.value}"


def plan_waitlist_message(kind: MessageKind, event_id: str, expires_at: datetime, now: datetime) -> PlannedMessage:
    """A waitlist email goes out at once; one whose offer (or entry) has already lapsed is recorded, never sent."""
    lapsed = require_aware_utc(expires_at, "expires_at") <= require_aware_utc(now, "now")
    return PlannedMessage(
        kind=kind,
        dedupe_key=waitlist_dedupe_key(kind, event_id),
        due_at=now,
        status=PlanStatus.SKIPPED if lapsed else PlanStatus.SCHEDULED,
        essential=True,  # the patient asked to be told: an unsubscribe does not stop it
        skip_reason=OFFER_LAPSED if lapsed else None,
    )


def webhook_disabled_dedupe_key(event_id: str, recipient: str) -> str:
    """One alert per admin per disabling, however often the event arrives."""
    return f"webhook:{event_id}:{recipient.lower()}:{MessageKind.WEBHOOK_DISABLED.value}"


def plan_webhook_disabled(event_id: str, recipient: str, now: datetime) -> PlannedMessage:
    """Admins hear at once that a webhook endpoint was turned off."""
    return PlannedMessage(
        kind=MessageKind.WEBHOOK_DISABLED,
        dedupe_key=webhook_disabled_dedupe_key(event_id, recipient),
        due_at=require_aware_utc(now, "now"),
        status=PlanStatus.SCHEDULED,
        essential=True,  # an operational alert to staff: no unsubscribe
    )
def password_reset_dedupe_key(reset_id: str) -> str:
    """One email per reset request, however often the event is delivered."""
    return f"staff-reset:{reset_id}"


def crisis_alert_dedupe_key(screening_id: str) -> str:
    """One staff alert per screening, however often its event arrives."""
    return f"screening:{screening_id}:{MessageKind.CRISIS_ALERT.value}"


# --- crisis alerts: a burst collapses into one follow-up, a real crisis is never held back ------------

CRISIS_ALERT_WINDOW = timedelta(minutes=2)


def crisis_alert_due(now: datetime, last_alert_due: datetime | None, window: timedelta) -> datetime:
    """When a new crisis alert goes out.

    At once when no alert went out in the last ``window`` (the first alert of a quiet period);
    otherwise at the end of the window the last alert opened, so a burst (a flood of public
    submissions) reaches on-call as one follow-up listing every screening, never as one each.
    """
    if last_alert_due is None or last_alert_due + window <= now:
        return now
    return last_alert_due + window


def crisis_screenings(context: Mapping[str, Any]) -> list[dict[str, str]]:
    """The screenings a crisis alert lists: ``{"screening_id", "review_url"}`` each, in arrival order.

    Alerts stored before alerts were collapsed name one screening at the top level of the context.
    """
    if "screenings" in context:
        return [dict(screening) for screening in context["screenings"]]
    return [{"screening_id": context["screening_id"], "review_url": context["review_url"]}]


def duration_label(duration: timedelta) -> str:
    """'72h' for whole hours, else minutes ('90m'); used inside dedupe keys."""
    minutes = round(duration.total_seconds() / 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def in_send_order(messages: Iterable[PlannedMessage]) -> list[PlannedMessage]:
    return sorted(messages, key=lambda message: (message.due_at, SEND_ORDER.index(message.kind)))


def require_status(snapshot: BookingSnapshot, expected: BookingStatus) -> None:
    if snapshot.status is not expected:
        raise ValueError(f"booking {snapshot.booking_id} is {snapshot.status.value}, expected {expected.value}")
