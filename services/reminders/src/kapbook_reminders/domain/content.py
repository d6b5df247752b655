"""The words of each email that do not live in templates: subjects, previews, dates, checklists."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kapbook_reminders.domain.booking import BookingSnapshot
from kapbook_reminders.domain.branding import ClinicBranding
from kapbook_reminders.domain.local_time import format_clock, format_date, format_moment, format_span, same_wall_clock
from kapbook_reminders.domain.plan import MessageKind
from kapbook_reminders.domain.plan_config import PreparationGuidance

# Subjects and previews name only the day and the clinic: see privacy.py.
SUBJECTS: dict[MessageKind, str] = {
    MessageKind.CONFIRMATION: "Your appointment on {day} – {clinic}",
    MessageKind.REMINDER: "Reminder: your appointment on {day} – {clinic}",
    MessageKind.PREPARATION: "Getting ready for your appointment on {day} – {clinic}",
    MessageKind.FOLLOW_UP: "After your appointment on {day} – {clinic}",
    MessageKind.RESCHEDULE_NOTICE: "Updated: your appointment on {day} – {clinic}",
    MessageKind.CANCELLATION_NOTICE: "Your appointment on {day} has been cancelled – {clinic}",
    MessageKind.MANAGE_LINK_REPLACED: "A new link for your appointment on {day} – {clinic}",
    MessageKind.CHECK_IN_BEFORE_DOSE: "A quick check-in before your appointment on {day} – {clinic}",
    MessageKind.CHECK_IN_AFTER_INTEGRATION: "A quick check-in after your appointment on {day} – {clinic}",
}
PREHEADERS: dict[MessageKind, str] = {
    MessageKind.CONFIRMATION: "Your appointment on {day} is confirmed.",
    MessageKind.REMINDER: "A reminder of your appointment on {day}.",
    MessageKind.PREPARATION: "A short checklist for your appointment on {day}.",
    MessageKind.FOLLOW_UP: "Thank you for your visit on {day}.",
    MessageKind.RESCHEDULE_NOTICE: "The details of your appointment on {day} have changed.",
    MessageKind.CANCELLATION_NOTICE: "Your appointment on {day} has been cancelled.",
    MessageKind.MANAGE_LINK_REPLACED: "Use the link in this email to view or change your appointment on {day}.",
    MessageKind.CHECK_IN_BEFORE_DOSE: "A few short questions before your appointment on {day}.",
    MessageKind.CHECK_IN_AFTER_INTEGRATION: "A few short questions after your appointment on {day}.",
}
HEADINGS: dict[MessageKind, str] = {
    MessageKind.CONFIRMATION: "Your appointment is confirmed",
    MessageKind.REMINDER: "Your appointment is coming up",
    MessageKind.PREPARATION: "Getting ready for your appointment",
    MessageKind.FOLLOW_UP: "Thank you for your visit",
    MessageKind.RESCHEDULE_NOTICE: "Your appointment has changed",
    MessageKind.CANCELLATION_NOTICE: "Your appointment has been cancelled",
    MessageKind.MANAGE_LINK_REPLACED: "Your new link for your appointment",
    MessageKind.CHECK_IN_BEFORE_DOSE: "How have you been?",
    MessageKind.CHECK_IN_AFTER_INTEGRATION: "How have you been since your visit?",
}
# A treatment series: the subject names the first day concerned and the clinic, as for one appointment.
SERIES_SUBJECTS: dict[MessageKind, str] = {
    MessageKind.SERIES_CONFIRMATION: "Your appointments from {day} – {clinic}",
    MessageKind.SERIES_CANCELLATION: "Your appointments from {day} have been cancelled – {clinic}",
}
SERIES_PREHEADERS: dict[MessageKind, str] = {
    MessageKind.SERIES_CONFIRMATION: "Your {count} appointments from {day} are confirmed.",
    MessageKind.SERIES_CANCELLATION: "{count} of your appointments from {day} have been cancelled.",
}
SERIES_HEADINGS: dict[MessageKind, str] = {
    MessageKind.SERIES_CONFIRMATION: "Your appointments are confirmed",
    MessageKind.SERIES_CANCELLATION: "Your appointments have been cancelled",
}
# The patient asked for it a moment ago, so the subject says what it is; the link is in the body only.
SIGN_IN_LINK_SUBJECT = "Your sign-in link to your Kapbook appointments"
SIGN_IN_LINK_HEADING = "Your sign-in link"
SIGN_IN_LINK_PREHEADER = "Sign in to see and change your appointments. The link works once, for 30 minutes."
CRISIS_ALERT_SUBJECT = "Urgent: a screening needs clinician review – {clinic}"
CRISIS_ALERT_HEADING = "Urgent: a screening needs clinician review"
CRISIS_ALERT_PREHEADER = "A screening needs urgent clinician review. Please open it now."
# Several screenings gathered into one alert (a burst within the collapse window).
CRISIS_ALERTS_SUBJECT = "Urgent: {count} screenings need clinician review – {clinic}"
CRISIS_ALERTS_HEADING = "Urgent: {count} screenings need clinician review"
CRISIS_ALERTS_PREHEADER = "Several screenings arrived within minutes and need urgent clinician review."
# Emails about a visit still to come: they give the change deadline and, when
# the plan has one, the preparation checklist (so a booking made too late for
# the preparation message still gets it).
KINDS_BEFORE_THE_VISIT = frozenset(
    {MessageKind.CONFIRMATION, MessageKind.REMINDER, MessageKind.PREPARATION, MessageKind.RESCHEDULE_NOTICE}
)


@dataclass(frozen=True)
class DetailRow:
    label: str
    value: str


def appointment_day(snapshot: BookingSnapshot) -> str:
    """'Tuesday 9 March', in the patient's zone."""
    return format_date(snapshot.start, snapshot.patient_timezone, with_year=False)


def patient_subject(kind: MessageKind, snapshot: BookingSnapshot, branding: ClinicBranding) -> str:
    return SUBJECTS[kind].format(day=appointment_day(snapshot), clinic=branding.display_name)


def crisis_alert_subject(branding: ClinicBranding) -> str:
    return CRISIS_ALERT_SUBJECT.format(clinic=branding.display_name)


def crisis_alerts_subject(branding: ClinicBranding, count: int) -> str:
    return CRISIS_ALERTS_SUBJECT.format(count=count, clinic=branding.display_name)


def patient_context(
    kind: MessageKind,
    snapshot: BookingSnapshot,
    branding: ClinicBranding,
    *,
    now: datetime,
    preparation: PreparationGuidance | None,
    unsubscribe_url: str | None,
    previous_start: datetime | None,
    check_in_url: str | None = None,
) -> dict[str, Any]:
    """Everything the patient templates may show."""
    twelve_hour = branding.use_12_hour_clock
    zone = snapshot.patient_timezone
    before_the_visit = kind in KINDS_BEFORE_THE_VISIT
    return {
        "kind": kind.value,
        "subject": patient_subject(kind, snapshot, branding),
        "preheader": PREHEADERS[kind].format(day=appointment_day(snapshot)),
        "heading": HEADINGS[kind],
        "clinic": clinic_context(branding),
        "patient_name": snapshot.patient_name,
        "when": format_span(snapshot.start, snapshot.end, zone, twelve_hour=twelve_hour),
        "details": appointment_details(snapshot, twelve_hour=twelve_hour),
        "previous_when": None
        if previous_start is None
        else format_moment(previous_start, zone, twelve_hour=twelve_hour),
        "is_telehealth": snapshot.is_telehealth,
        # Bodies only (subjects and previews name the day and the clinic): see privacy.py.
        "join_url": snapshot.video_call_url if before_the_visit else None,
        "manage_url": snapshot.manage_url,
        "policy": snapshot.cancellation_policy,
        "change_deadline": change_deadline(snapshot, now, twelve_hour=twelve_hour) if before_the_visit else None,
        "checklist": preparation_checklist(snapshot, preparation, twelve_hour=twelve_hour)
        if before_the_visit and preparation is not None
        else [],
        "unsubscribe_url": unsubscribe_url,
        # A credential of the check-in (bodies only, never logged): see kapbook_platform.contracts.check_in_links.
        "check_in_url": check_in_url,
    }


def crisis_context(screenings: Sequence[Mapping[str, str]], branding: ClinicBranding) -> dict[str, Any]:
    """What a crisis alert shows: one screening's link, or (a burst gathered into one alert) a list of links."""
    several = len(screenings) > 1
    return {
        "subject": crisis_alerts_subject(branding, len(screenings)) if several else crisis_alert_subject(branding),
        "preheader": CRISIS_ALERTS_PREHEADER if several else CRISIS_ALERT_PREHEADER,
        "heading": CRISIS_ALERTS_HEADING.format(count=len(screenings)) if several else CRISIS_ALERT_HEADING,
        "clinic": clinic_context(branding),
        "screening_id": screenings[0]["screening_id"],
        "review_url": screenings[0]["review_url"],
        "screenings": [dict(screening) for screening in screenings],
    }


def series_context(
    kind: MessageKind,
    sessions: list[BookingSnapshot],
    others: list[BookingSnapshot],
    protocol_name: str,
    branding: ClinicBranding,
) -> dict[str, Any]:
    """A series email: the sessions it is about (confirmed or cancelled) and, after a cancellation, those still to come."""
    first = sessions[0]
    day = appointment_day(first)
    values = {"day": day, "clinic": branding.display_name, "count": len(sessions)}
    return {
        "kind": kind.value,
        "subject": SERIES_SUBJECTS[kind].format(**values),
        "preheader": SERIES_PREHEADERS[kind].format(**values),
        "heading": SERIES_HEADINGS[kind],
        "clinic": clinic_context(branding),
        "patient_name": first.patient_name,
        "count": len(sessions),
        "sessions": [series_session(s, branding, with_join_url=kind is MessageKind.SERIES_CONFIRMATION) for s in sessions],
        "remaining": [series_session(s, branding, with_join_url=False) for s in others],
        # After the session list, never in the preview: a protocol's name may say what the treatment is.
        "protocol_name": protocol_name,
        "manage_url": first.manage_url,
        "policy": first.cancellation_policy,
    }


def series_session(snapshot: BookingSnapshot, branding: ClinicBranding, *, with_join_url: bool) -> dict[str, Any]:
    """One session of a series email: its place in the series and its details."""
    twelve_hour = branding.use_12_hour_clock
    return {
        "label": snapshot.series.label if snapshot.series else "Appointment",
        "when": format_span(snapshot.start, snapshot.end, snapshot.patient_timezone, twelve_hour=twelve_hour),
        "details": appointment_details(snapshot, twelve_hour=twelve_hour, with_course=False),
        "join_url": snapshot.video_call_url if with_join_url else None,
        "manage_url": snapshot.manage_url,
    }


def sign_in_link_context(
    name: str | None, link_url: str, expires_at: datetime, now: datetime, branding: ClinicBranding
) -> dict[str, Any]:
    """The short sign-in email: the link, that it works once and for how long, what to do if it was not you."""
    return {
        "subject": SIGN_IN_LINK_SUBJECT,
        "preheader": SIGN_IN_LINK_PREHEADER,
        "heading": SIGN_IN_LINK_HEADING,
        "clinic": clinic_context(branding),
        "patient_name": name,
        "link_url": link_url,
        "minutes_left": minutes_left(expires_at, now),
    }


WEBHOOK_DISABLED_SUBJECT = "A webhook endpoint was turned off – {clinic}"
WEBHOOK_DISABLED_HEADING = "A webhook endpoint was turned off"
WEBHOOK_DISABLED_PREHEADER = "Kapbook stopped sending events to one of the clinic's systems after repeated failures."


def webhook_disabled_context(data: Mapping[str, Any], branding: ClinicBranding) -> dict[str, Any]:
    """The admins' alert: which endpoint, how many deliveries failed, where to turn it back on."""
    return {
        "subject": WEBHOOK_DISABLED_SUBJECT.format(clinic=branding.display_name),
        "preheader": WEBHOOK_DISABLED_PREHEADER,
        "heading": WEBHOOK_DISABLED_HEADING,
        "clinic": clinic_context(branding),
        "endpoint_id": data["endpoint_id"],
        "url": data["url"],
        "description": data.get("description") or "",
        "failed_deliveries": data["failed_deliveries"],
        "console_url": data["console_url"],
    }


def minutes_left(expires_at: datetime, now: datetime) -> int:
    """Whole minutes until ``expires_at``, rounded up (a link sent at once says 30), at least 1."""
    return max(1, math.ceil((expires_at - now).total_seconds() / 60))


PASSWORD_RESET_SUBJECT = "Reset your staff console password – {clinic}"
PASSWORD_RESET_HEADING = "Reset your staff console password"
PASSWORD_RESET_PREHEADER = "A one-time link to choose a new password. It works for 30 minutes."


def password_reset_context(name: str, link_url: str, expires_at: datetime, branding: ClinicBranding) -> dict[str, Any]:
    return {
        "subject": PASSWORD_RESET_SUBJECT.format(clinic=branding.display_name),
        "preheader": PASSWORD_RESET_PREHEADER,
        "heading": PASSWORD_RESET_HEADING,
        "clinic": clinic_context(branding),
        "name": name,
        "link_url": link_url,
        "expires": expires_at.strftime("%Y-%m-%d %H:%M"),
    }


def clinic_context(branding: ClinicBranding) -> dict[str, str]:
    return {
        "display_name": branding.display_name,
        "legal_name": branding.name,
        "reply_to": branding.reply_to,
        "website_url": branding.website_url,
        "postal_address": branding.postal_address,
        "brand_colour": branding.brand_colour,
        "button_text_colour": branding.button_text_colour,
        "link_colour": branding.link_colour,
    }


def appointment_details(snapshot: BookingSnapshot, *, twelve_hour: bool, with_course: bool = True) -> list[DetailRow]:
    """When, where, with whom, what; the clinic's local time too if the patient's zone differs.

    A session of a series also says where it sits in it ("Session 3 of 6 of IV induction"), last,
    well after what a preview shows.
    """
    rows = [DetailRow("When", format_span(snapshot.start, snapshot.end, snapshot.patient_timezone, twelve_hour=twelve_hour))]
    if not snapshot.is_telehealth and not same_wall_clock(
        snapshot.start, snapshot.patient_timezone, snapshot.location_timezone
    ):
        clinic_time = format_span(snapshot.start, snapshot.end, snapshot.location_timezone, twelve_hour=twelve_hour)
        rows.append(DetailRow("Local time at the clinic", clinic_time))
    rows.append(DetailRow("Where", where(snapshot)))
    rows.append(DetailRow("With", snapshot.clinician_name))
    rows.append(DetailRow("Appointment", snapshot.appointment_type_name))
    if with_course and snapshot.series is not None:
        rows.append(DetailRow("Course", f"{snapshot.series.label} of {snapshot.series.protocol_name}"))
    return rows


def where(snapshot: BookingSnapshot) -> str:
    if snapshot.is_telehealth:
        if snapshot.video_call_url:
            return f"Video call, join here: {snapshot.video_call_url}"
        return "Video call: the clinic will send you the joining link"
    if snapshot.location_address:
        return f"{snapshot.location_name}, {snapshot.location_address}"
    return snapshot.location_name


def change_deadline(snapshot: BookingSnapshot, now: datetime, *, twelve_hour: bool) -> str | None:
    """The last moment to change within the policy, if that is still ahead."""
    deadline = snapshot.start - timedelta(hours=snapshot.cancellation_notice_hours)
    if snapshot.cancellation_notice_hours == 0 or deadline <= now:
        return None
    return format_moment(deadline, snapshot.patient_timezone, twelve_hour=twelve_hour)


def preparation_checklist(
    snapshot: BookingSnapshot, guidance: PreparationGuidance, *, twelve_hour: bool
) -> list[str]:
    """The steps before a treatment session, with clock times in the patient's zone."""

    def clock_before(offset: timedelta) -> str:
        return clock_on_the_day(snapshot, snapshot.start - offset, twelve_hour=twelve_hour)

    food, liquids = guidance.no_food_before, guidance.liquids_stop_before
    if guidance.clear_liquids_only:
        steps = [
            f"No solid food after {clock_before(food)} ({duration_words(food)} before your appointment).",
            f"Clear liquids such as water are fine until {clock_before(liquids)} "
            f"({duration_words(liquids)} before); after that, nothing more to eat or drink.",
        ]
    else:
        steps = [
            f"No food after {clock_before(food)} ({duration_words(food)} before your appointment).",
            f"No drinks after {clock_before(liquids)} ({duration_words(liquids)} before your appointment).",
        ]
    steps.append("No alcohol or recreational drugs beforehand.")
    steps.append(transport_step(snapshot))
    steps.append("Wear comfortable clothes.")
    if guidance.on_site_monitoring is not None:
        steps.append(
            f"Plan to stay with us for at least {duration_words(guidance.on_site_monitoring)} afterwards, "
            "so that we can look after you while you recover."
        )
    if guidance.arrive_early:
        verb = "Be ready to join" if snapshot.is_telehealth else "Arrive"
        steps.append(f"{verb} {duration_words(guidance.arrive_early)} early.")
    return steps


def transport_step(snapshot: BookingSnapshot) -> str:
    if snapshot.is_telehealth:
        return "Have a responsible adult with you, and do not drive until the next day."
    return "Arrange for an adult to drive you home: you must not drive until the next day."


def clock_on_the_day(snapshot: BookingSnapshot, moment: datetime, *, twelve_hour: bool) -> str:
    """'04:30', or '23:00 on Monday 8 March' when it falls on the day before the appointment."""
    zone = snapshot.patient_timezone
    clock = format_clock(moment, zone, twelve_hour=twelve_hour)
    if format_date(moment, zone) == format_date(snapshot.start, zone):
        return clock
    return f"{clock} on {format_date(moment, zone, with_year=False)}"


def duration_words(duration: timedelta) -> str:
    """'6 hours', '30 minutes', '1 hour 30 minutes'."""
    hours, minutes = divmod(round(duration.total_seconds() / 60), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


# --- the waitlist: joined, and a freed time held as an offer. The subjects say nothing of why the
# patient waits; the care type appears in the details, well past what a preview shows.
WAITLIST_JOINED_SUBJECT = "You are on the waitlist – {clinic}"
WAITLIST_JOINED_HEADING = "You are on the waitlist"
WAITLIST_JOINED_PREHEADER = "We will email you as soon as a time that suits you opens up."
WAITLIST_OFFER_SUBJECT = "A time has opened up for you – {clinic}"
WAITLIST_OFFER_HEADING = "A time has opened up for you"
WAITLIST_OFFER_PREHEADER = "We are holding it for you for a short while. Take it or let it go with one click."


def waitlist_details(data: Mapping[str, Any], *, twelve_hour: bool) -> list[DetailRow]:
    """What the patient waits for (and, for an offer, the time held for them) in their own zone."""
    rows = []
    if "start" in data:
        start, end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        rows.append(DetailRow("When", format_span(start, end, data["patient"]["timezone"], twelve_hour=twelve_hour)))
        location = data["location"]
        rows.append(DetailRow("Where", f"{location['name']}, {location['address']}" if location.get("address") else location["name"]))
        rows.append(DetailRow("With", data["clinician"]["name"]))
    else:
        rows.extend(DetailRow("Times that suit you", window) for window in data["windows"])
    rows.append(DetailRow("Appointment", data["appointment_type"]["name"]))
    return rows


def waitlist_joined_context(data: Mapping[str, Any], now: datetime, branding: ClinicBranding) -> dict[str, Any]:
    twelve_hour = branding.use_12_hour_clock
    return {
        "subject": WAITLIST_JOINED_SUBJECT.format(clinic=branding.display_name),
        "preheader": WAITLIST_JOINED_PREHEADER,
        "heading": WAITLIST_JOINED_HEADING,
        "clinic": clinic_context(branding),
        "patient_name": data["patient"]["name"],
        "details": waitlist_details(data, twelve_hour=twelve_hour),
        "until": format_date(datetime.fromisoformat(data["expires_at"]), data["patient"]["timezone"]),
        "leave_url": data["leave_url"],
    }


def waitlist_offer_context(data: Mapping[str, Any], now: datetime, branding: ClinicBranding) -> dict[str, Any]:
    twelve_hour = branding.use_12_hour_clock
    return {
        "subject": WAITLIST_OFFER_SUBJECT.format(clinic=branding.display_name),
        "preheader": WAITLIST_OFFER_PREHEADER,
        "heading": WAITLIST_OFFER_HEADING,
        "clinic": clinic_context(branding),
        "patient_name": data["patient"]["name"],
        "details": waitlist_details(data, twelve_hour=twelve_hour),
        "held_until": format_moment(datetime.fromisoformat(data["expires_at"]), data["patient"]["timezone"],
                                    twelve_hour=twelve_hour),
        "claim_url": data["claim_url"],
        "decline_url": data["decline_url"],
    }
