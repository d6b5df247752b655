"""Build each email as a MIME message, ready for SMTP (which is not done here).

Patient emails are multipart/alternative (text, HTML); confirmations and
change/cancellation notices add the invite as a `text/calendar; method=...`
alternative and as an `invite.ics` attachment (multipart/mixed around it),
the shape calendar clients recognise. A series email (one confirmation for all
the sessions of a course, or one email for its cancelled sessions) attaches one
invite per session as `session-<n>.ics`, each a whole calendar of one event.
The sign-in link email is text and HTML only. Subject, sender name and previews
pass the privacy guard before anything is returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from urllib.parse import urlsplit

from kapbook_reminders.domain.booking import BookingSnapshot, require_aware_utc, require_web_url
from kapbook_reminders.domain.branding import ClinicBranding
from kapbook_reminders.domain.content import (
    crisis_context,
    password_reset_context,
    patient_context,
    series_context,
    sign_in_link_context,
    waitlist_joined_context,
    waitlist_offer_context,
    webhook_disabled_context,
)
from kapbook_reminders.domain.invites import InviteMethod, build_invite
from kapbook_reminders.domain.plan import (
    CHECK_IN_KINDS,
    MessageKind,
    crisis_alert_dedupe_key,
    is_essential,
    is_still_relevant,
    sign_in_link_dedupe_key,
    waitlist_dedupe_key,
    webhook_disabled_dedupe_key,
    password_reset_dedupe_key,
)
from kapbook_reminders.domain.plan_config import PreparationGuidance
from kapbook_reminders.domain.privacy import (
    assert_html_preview_is_private,
    assert_preview_is_private,
    assert_sender_is_private,
    assert_subject_is_private,
)
from kapbook_reminders.domain.rendering import render_pair

INVITE_METHODS: dict[MessageKind, InviteMethod] = {
    MessageKind.CONFIRMATION: InviteMethod.REQUEST,
    MessageKind.RESCHEDULE_NOTICE: InviteMethod.REQUEST,
    MessageKind.CANCELLATION_NOTICE: InviteMethod.CANCEL,
}
INVITE_FILENAME = "invite.ics"
SERIES_INVITE_METHODS: dict[MessageKind, InviteMethod] = {
    MessageKind.SERIES_CONFIRMATION: InviteMethod.REQUEST,
    MessageKind.SERIES_CANCELLATION: InviteMethod.CANCEL,
}
# The staff alert's subject names the work ("a screening needs review"),
# never a patient, answer or result; that one word is allowed there.
STAFF_ALLOWED_TERMS = frozenset({"screening"})


# RFC 5322's hard limit for a line; 78 is only a recommendation.
HEADER_LINE_LIMIT = 998


class MailPolicy(EmailPolicy):
    """The standard policy, except that headers are not folded below 998 characters.

    Folding a header around an encoded word (the subject's en dash) leaves a space on both
    sides of the fold, and every mail client then shows two spaces in the subject.
    Bodies are still encoded for 78-character lines.
    """

    def fold(self, name: str, value: str) -> str:
        return EmailPolicy.fold(self.clone(max_line_length=HEADER_LINE_LIMIT), name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() not in REPEATED_HEADERS:
            return EmailPolicy.fold_binary(self.clone(max_line_length=HEADER_LINE_LIMIT), name, value)
        # The MIME structure's headers are the same in every email: fold each one once.
        key = (name, str(value), self.linesep, self.utf8, self.cte_type)
        if (folded := _FOLDED.get(key)) is None:
            folded = EmailPolicy.fold_binary(self.clone(max_line_length=HEADER_LINE_LIMIT), name, value)
            if len(_FOLDED) < REPEATED_HEADERS_KEPT:
                _FOLDED[key] = folded
        return folded


# Headers whose few values recur in every email (the MIME structure, the clinic's sender): their
# parsed and folded forms are kept and shared (header objects are immutable strings).
REPEATED_HEADERS = frozenset({
    "content-type", "content-transfer-encoding", "content-disposition", "mime-version", "from", "reply-to",
    "auto-submitted", "list-unsubscribe-post", "importance", "x-priority",
})
REPEATED_HEADERS_KEPT = 1024  # a bound, should a value vary after all (e.g. a multipart boundary)
_FOLDED: dict[tuple, bytes] = {}


class CachedHeaderRegistry(HeaderRegistry):
    """The standard registry, minus a new header class per header set (a tenth of composing time),
    and minus parsing again the values of ``REPEATED_HEADERS`` seen before."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}
        self._parsed: dict[tuple[str, str], object] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]

    def __call__(self, name: str, value: object):
        if name.lower() not in REPEATED_HEADERS or not isinstance(value, str):
            return super().__call__(name, value)
        key = (name, value)
        if (header := self._parsed.get(key)) is None:
            header = super().__call__(name, value)
            if len(self._parsed) < REPEATED_HEADERS_KEPT:
                self._parsed[key] = header
        return header


MAIL_POLICY = MailPolicy(header_factory=CachedHeaderRegistry())


class MessageNoLongerRelevant(ValueError):
    """The booking's status rules this message out (e.g. a reminder for a cancelled booking)."""


def compose_email(
    kind: MessageKind | str,
    snapshot: BookingSnapshot,
    branding: ClinicBranding,
    *,
    now: datetime,
    dedupe_key: str,
    preparation: PreparationGuidance | None = None,
    unsubscribe_url: str | None = None,
    previous_start: datetime | None = None,
    check_in_url: str | None = None,
) -> EmailMessage:
    """The patient email of `kind` for this booking version.

    `dedupe_key` (the planned message's) makes the Message-ID, so a retried
    send carries the same one. `preparation` adds the checklist (required for
    the preparation message). `unsubscribe_url` is required for non-essential
    kinds and ignored for essential ones; only an https one is offered for
    one-click unsubscribe (List-Unsubscribe-Post). `previous_start` lets a change notice
    say what the time was. `check_in_url` (required for the check-in kinds) is the link to the
    eligibility service's check-in page.
    """
    kind = MessageKind(kind)
    if kind in (MessageKind.CRISIS_ALERT, MessageKind.STAFF_PASSWORD_RESET):
        raise ValueError("use compose_crisis_alert or compose_password_reset for staff emails")
    if not is_still_relevant(kind, snapshot.status):
        raise MessageNoLongerRelevant(f"no {kind.value} for a {snapshot.status.value} booking")
    if kind is MessageKind.PREPARATION and preparation is None:
        raise ValueError("a preparation message needs the plan's preparation guidance")
    if kind in CHECK_IN_KINDS and not check_in_url:
        raise ValueError("a check-in message needs its check-in link")
    unsubscribe_url = None if is_essential(kind) else require_unsubscribe_url(unsubscribe_url)
    now = require_aware_utc(now, "now")

    context = patient_context(
        kind,
        snapshot,
        branding,
        now=now,
        preparation=preparation,
        unsubscribe_url=unsubscribe_url,
        previous_start=previous_start,
        check_in_url=check_in_url if kind in CHECK_IN_KINDS else None,
    )
    message = new_message(
        subject=assert_subject_is_private(context["subject"]),
        sender=branding,
        recipient=Address(display_name=snapshot.patient_name, addr_spec=snapshot.patient_email),
        message_key=dedupe_key,
        now=now,
    )
    add_bodies(message, kind.value, context, people=(snapshot.patient_name, snapshot.clinician_name))
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        if urlsplit(unsubscribe_url).scheme == "https":
            # RFC 8058: one-click (a POST by the mail client) only over HTTPS.
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if kind in INVITE_METHODS:
        invite = build_invite(
            snapshot, INVITE_METHODS[kind], branding.from_address, organizer_name=branding.display_name, now=now
        )
        attach_invite(message, invite, INVITE_METHODS[kind])
    return message


def compose_crisis_alert(
    screening_id: str,
    review_url: str,
    oncall_address: str,
    branding: ClinicBranding,
    now: datetime,
) -> EmailMessage:
    """Tell the on-call clinician that a screening needs urgent review: a link, no answers or scores."""
    return compose_crisis_alerts([{"screening_id": screening_id, "review_url": review_url}], oncall_address, branding, now)


def compose_crisis_alerts(
    screenings: Sequence[Mapping[str, str]],
    oncall_address: str,
    branding: ClinicBranding,
    now: datetime,
) -> EmailMessage:
    """One urgent alert listing ``screenings`` (``screening_id`` and ``review_url`` each): links only.

    A burst of crisis screenings reaches on-call as one email listing them all (see ``crisis_alert_due``).
    """
    if not screenings:
        raise ValueError("a crisis alert lists at least one screening")
    listed = [{"screening_id": entry["screening_id"], "review_url": require_web_url(entry["review_url"], "review_url")}
              for entry in screenings]
    context = crisis_context(listed, branding)
    message = new_message(
        subject=assert_subject_is_private(context["subject"], allowed=STAFF_ALLOWED_TERMS),
        sender=branding,
        recipient=Address(addr_spec=oncall_address),
        message_key=crisis_alert_dedupe_key(listed[0]["screening_id"]),
        now=require_aware_utc(now, "now"),
    )
    message["Importance"] = "high"
    message["X-Priority"] = "1"
    add_bodies(message, MessageKind.CRISIS_ALERT.value, context, allowed=STAFF_ALLOWED_TERMS)
    return message


def compose_webhook_disabled(
    event_id: str, admin_email: str, data: Mapping[str, object], console_url: str, branding: ClinicBranding, now: datetime,
) -> EmailMessage:
    """Tell an admin a webhook endpoint was turned off, with the console link to look and re-enable.

    No event content: ids, the endpoint's URL and description, the count of failed deliveries.
    """
    context = webhook_disabled_context(data | {"console_url": require_web_url(console_url, "console_url")}, branding)
    message = new_message(
        subject=assert_subject_is_private(context["subject"]),
        sender=branding,
        recipient=Address(addr_spec=admin_email),
        message_key=webhook_disabled_dedupe_key(event_id, admin_email),
        now=require_aware_utc(now, "now"),
    )
    add_bodies(message, MessageKind.WEBHOOK_DISABLED.value, context)
    return message


def compose_series_email(
    kind: MessageKind | str,
    sessions: list[BookingSnapshot],
    others: list[BookingSnapshot],
    protocol_name: str,
    branding: ClinicBranding,
    *,
    recipient: Address,
    now: datetime,
    dedupe_key: str,
) -> EmailMessage:
    """One email about several sessions of a series, with one invite per session it is about.

    ``sessions`` are the sessions confirmed (REQUEST) or cancelled (CANCEL), in series order;
    ``others`` those still booked after a cancellation. Each invite is a whole calendar object of
    one event, as for a single booking (its UID, its SEQUENCE), attached as ``session-<n>.ics``:
    several calendars cannot share the one inline ``text/calendar`` alternative of a single invite.
    """
    kind = MessageKind(kind)
    method = SERIES_INVITE_METHODS[kind]
    if not sessions:
        raise MessageNoLongerRelevant(f"no session left for a {kind.value}")
    now = require_aware_utc(now, "now")
    context = series_context(kind, sessions, others, protocol_name, branding)
    first = sessions[0]
    message = new_message(
        subject=assert_subject_is_private(context["subject"]),
        sender=branding,
        recipient=recipient,
        message_key=dedupe_key,
        now=now,
    )
    people = (recipient.display_name, first.patient_name, *sorted({s.clinician_name for s in (*sessions, *others)}))
    add_bodies(message, kind.value, context, people=people)
    for number, session in enumerate(sessions, start=1):
        invite = build_invite(session, method, branding.from_address, organizer_name=branding.display_name, now=now)
        position = session.series.position if session.series else number
        message.add_attachment(invite, maintype="application", subtype="ics", filename=series_invite_filename(position))
    return message


def series_invite_filename(position: int) -> str:
    return f"session-{position}.ics"


def compose_sign_in_link(
    event_id: str,
    email: str,
    name: str | None,
    link_url: str,
    expires_at: datetime,
    branding: ClinicBranding,
    now: datetime,
) -> EmailMessage:
    """The one-time sign-in link the patient asked for: plain words, the link, no invite.

    The link is a secret: it goes in the bodies only, and it is blanked out before the preview
    check, so that a refusal (whose message quotes the preview) can never carry it into a log line.
    """
    now = require_aware_utc(now, "now")
    context = sign_in_link_context(
        name, require_web_url(link_url, "link_url"), require_aware_utc(expires_at, "expires_at"), now, branding
    )
    message = new_message(
        subject=assert_subject_is_private(context["subject"]),
        sender=branding,
        recipient=Address(display_name=name or "", addr_spec=email),
        message_key=sign_in_link_dedupe_key(event_id),
        now=now,
    )
    add_bodies(message, MessageKind.SIGN_IN_LINK.value, context, people=tuple(filter(None, (name, link_url))))
    return message


def compose_password_reset(
    name: str, link_url: str, expires_at: datetime, recipient: str, reset_id: str, branding: ClinicBranding, now: datetime,
) -> EmailMessage:
    """A staff member's one-time password reset link (the link is a secret: this body only)."""
    now = require_aware_utc(now, "now")
    if now >= require_aware_utc(expires_at, "expires_at"):
        raise MessageNoLongerRelevant("the reset link expired before it could be sent")
    context = password_reset_context(name, require_web_url(link_url, "link_url"), expires_at, branding)
    message = new_message(
        subject=assert_subject_is_private(context["subject"]),
        sender=branding,
        recipient=Address(addr_spec=recipient),
        message_key=password_reset_dedupe_key(reset_id),
        now=now,
    )
    add_bodies(message, MessageKind.STAFF_PASSWORD_RESET.value, context)
    return message


def compose_waitlist_email(
    kind: MessageKind, event_id: str, recipient: str, data: Mapping[str, object], branding: ClinicBranding, now: datetime,
) -> EmailMessage:
    """The waitlist's two emails: joined (with the leave link) and an offer (claim or let it go).

    The links are secrets: bodies only. The care type is in the details, past the preview, and
    never in the subject.
    """
    now = require_aware_utc(now, "now")
    build = waitlist_offer_context if kind is MessageKind.WAITLIST_OFFER else waitlist_joined_context
    context = build(data, now, branding)
    links = ("claim_url", "decline_url") if kind is MessageKind.WAITLIST_OFFER else ("leave_url",)
    for key in links:
        require_web_url(context[key], key)
    name = data["patient"]["name"]
    message = new_message(
        subject=assert_subject_is_private(context["subject"]),
        sender=branding,
        recipient=Address(display_name=name, addr_spec=recipient),
        message_key=waitlist_dedupe_key(kind, event_id),
        now=now,
    )
    clinician = data.get("clinician", {}).get("name")
    add_bodies(message, kind.value, context, people=tuple(filter(None, (name, clinician))))
    return message


def new_message(
    *, subject: str, sender: ClinicBranding, recipient: Address, message_key: str, now: datetime
) -> EmailMessage:
    """Headers shared by every email."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject
    message["From"] = Address(display_name=assert_sender_is_private(sender.display_name), addr_spec=sender.from_address)
    message["To"] = recipient
    message["Reply-To"] = sender.reply_to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = stable_message_id(message_key, sender.mail_domain)
    # RFC 3834: tells autoresponders (out-of-office) not to answer.
    message["Auto-Submitted"] = "auto-generated"
    return message


def add_bodies(
    message: EmailMessage,
    template: str,
    context: dict[str, object],
    *,
    allowed: frozenset[str] = frozenset(),
    people: tuple[str, ...] = (),
) -> None:
    text, html = render_pair(template, context)
    message.set_content(assert_preview_is_private(text, allowed=allowed, people=people))
    message.add_alternative(assert_html_preview_is_private(html, allowed=allowed, people=people), subtype="html")


def attach_invite(message: EmailMessage, invite: bytes, method: InviteMethod) -> None:
    """Inline for clients that act on invites, and as a file for everyone else."""
    message.add_alternative(invite.decode("utf-8"), subtype="calendar", params={"method": method.value})
    message.add_attachment(invite, maintype="application", subtype="ics", filename=INVITE_FILENAME)


def stable_message_id(key: str, domain: str) -> str:
    """The same key always gives the same Message-ID, so a resend is recognisably the same email."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def require_unsubscribe_url(url: str | None) -> str:
    """An absolute web URL; https in production (RFC 8058 one-click needs it), http on a developer's machine."""
    if url is None:
        raise ValueError("non-essential messages need an unsubscribe_url")
    return require_web_url(url, "unsubscribe_url")
