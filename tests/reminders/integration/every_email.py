"""Every kind of email the reminders service sends, as the bytes its SMTP adapter put on the wire.

``send_every_email`` feeds a real service (consumer, database, dispatcher, ``SmtpSender``) the
events that make each kind, walks its clock through every due time, and returns what the SMTP
server received, by label. Tools nobody here wrote (SpamAssassin, vobject) judge these bytes.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from kapbook_platform.contracts import EventType
from reminders_harness import PUBLIC_URL, START, Harness, booking_data

NEW_YORK = ZoneInfo("America/New_York")
SERIES_ID = "7c1f0e2a-4b6d-4f3e-8a21-9d0c5b7e3f10"
PROTOCOL = {"id": "proto-iv", "name": "IV induction"}
SERIES_SIZE = 6
JOIN_URL = "https://meet.harbor.example/kapbook-9f2c71d4"
SIGN_IN_URL = f"{PUBLIC_URL}/my/sign-in/one-time-4e8a1c9b2d"
RESET_URL = f"{PUBLIC_URL}/staff/reset-password/one-time-7b3d9e0f5a"
NEW_MANAGE_URL = f"{PUBLIC_URL}/manage/replaced-3f9a7c2e1b"
REVIEW_URL = f"{PUBLIC_URL}/staff/screenings/scr-5d1e"
LEAVE_URL = f"{PUBLIC_URL}/waitlist/leave/one-click-8d2f4a6c1e"
OFFER_URL = f"{PUBLIC_URL}/waitlist/offers/held-for-you-5b7e9c3a1d"

# label -> (kind of the stored message, booking id or None for messages about no one booking).
EXPECTED: dict[str, tuple[str, str | None]] = {
    "confirmation": ("confirmation", "b-in-person"),
    "confirmation (video call)": ("confirmation", "b-video"),
    "reminder": ("reminder", "b-in-person"),
    "reminder (video call)": ("reminder", "b-video"),
    "preparation": ("preparation", "b-in-person"),
    "follow-up": ("follow_up", "b-in-person"),
    "reschedule notice": ("reschedule_notice", "b-in-person"),
    "cancellation notice": ("cancellation_notice", "b-cancelled"),
    "series confirmation": ("series_confirmation", None),
    "series cancellation": ("series_cancellation", None),
    "sign-in link": ("sign_in_link", None),
    "crisis alert (staff)": ("crisis_alert", None),
    "webhook disabled (admins)": ("webhook_disabled", None),
    "password reset link (staff)": ("staff_password_reset", None),
    "new manage link": ("manage_link_replaced", "b-video"),
    "waitlist joined": ("waitlist_joined", None),
    "waitlist offer": ("waitlist_offer", None),
    "check-in before a dose": ("check_in_before_dose", "b-in-person"),
    "check-in after integration": ("check_in_after_integration", "b-integration"),
}


def series_session(position: int) -> dict:
    """Session ``position`` of a six-session series: 10:30 New York every other day from 9 March 2027."""
    local = START.astimezone(NEW_YORK).replace(tzinfo=None) + timedelta(days=2 * (position - 1))
    start = local.replace(tzinfo=NEW_YORK).astimezone(UTC)
    place = {"series_id": SERIES_ID, "protocol_name": PROTOCOL["name"], "position": position, "size": SERIES_SIZE}
    return booking_data(f"b-series-{position}", start) | {"series": place}


def feed_every_event(harness: Harness) -> None:
    """The events behind every kind: bookings in person and by video, a move, a cancellation,
    a series booked then partly cancelled, a sign-in link, a crisis screening, a disabled webhook, a staff password reset, a replaced manage link, and a
    patient joining the waitlist and being offered a freed time."""
    booked_at = harness.clock()
    harness.book("b-in-person", START + timedelta(days=7))
    video = booking_data("b-video", START + timedelta(days=1), category="consultation", minutes=30)
    harness.deliver(EventType.BOOKING_CREATED, video | {"join_url": JOIN_URL})
    harness.book("b-cancelled", START + timedelta(days=2), category="evaluation", minutes=60)
    harness.dispatch()  # the confirmations go out before anything changes
    harness.deliver(EventType.BOOKING_MANAGE_LINK_REPLACED, video | {"join_url": JOIN_URL, "manage_url": NEW_MANAGE_URL})
    harness.reschedule("b-in-person", START + timedelta(days=8), sequence=1, previous_start=START + timedelta(days=7))
    harness.cancel("b-cancelled", START + timedelta(days=2), sequence=1, category="evaluation", minutes=60)

    sessions = [series_session(position) for position in range(1, SERIES_SIZE + 1)]
    patient = sessions[0]["patient"]
    for data in sessions:
        harness.deliver(EventType.BOOKING_CREATED, data)
    harness.deliver(EventType.SERIES_BOOKED, {"series_id": SERIES_ID, "protocol": PROTOCOL, "patient": patient,
                                              "sessions": sessions, "booked_at": booked_at.isoformat()})
    harness.dispatch()  # the series confirmation goes out before the series loses its last sessions
    cancelled = sessions[3:]
    for data in cancelled:
        harness.deliver(EventType.BOOKING_CANCELLED, data | {"sequence": 1, "status": "cancelled"})
    harness.deliver(EventType.SERIES_CANCELLED, {
        "series_id": SERIES_ID, "protocol": PROTOCOL, "patient": patient,
        "cancelled_booking_ids": [s["booking_id"] for s in cancelled],
        "kept_booking_ids": [s["booking_id"] for s in sessions[:3]], "cancelled_at": booked_at.isoformat(),
    })
    harness.deliver(EventType.PATIENT_SIGN_IN_LINK, {"email": patient["email"], "name": patient["name"],
                                                     "link_url": SIGN_IN_URL,
                                                     "expires_at": (booked_at + timedelta(minutes=30)).isoformat()})
    harness.deliver(EventType.SCREENING_CRISIS, {"screening_id": "scr-5d1e", "review_url": REVIEW_URL,
                                                 "decided_at": booked_at.isoformat()})
    harness.deliver(EventType.WEBHOOK_ENDPOINT_DISABLED, {
        "endpoint_id": "6f0e2c1a-webhook", "url": "https://ehr-bridge.harbor.example/kapbook", "description": "EHR bridge",
        "recipients": ["admin@harbor.example"], "failed_deliveries": 5, "disabled_at": booked_at.isoformat()})
    harness.deliver(EventType.STAFF_PASSWORD_RESET_LINK, {
        "reset_id": "reset-2c8f", "email": "nurse.ana@harbor.example", "name": "Ana Nurse", "link_url": RESET_URL,
        "expires_at": (booked_at + timedelta(minutes=30)).isoformat()})
    feed_waitlist_events(harness, booking_data("b-offered", START + timedelta(days=3)), booked_at)
    harness.book("b-integration", START + timedelta(days=4), category="integration", minutes=60)


def feed_waitlist_events(harness: Harness, slot: dict, now: datetime) -> None:
    """A patient joins the waitlist, then a freed time is held for them."""
    waiting = {"patient": slot["patient"], "appointment_type": slot["appointment_type"]}
    harness.deliver(EventType.WAITLIST_JOINED, waiting | {
        "entry_id": "wl-3a9c", "windows": ["Tue, Thu 15:00–20:00", "Sat 09:00–12:00"], "leave_url": LEAVE_URL,
        "expires_at": (now + timedelta(days=60)).isoformat()})
    harness.deliver(EventType.WAITLIST_OFFERED, waiting | {
        "offer_id": "offer-7d1e", "entry_id": "wl-3a9c", "start": slot["start"], "end": slot["end"],
        "location": slot["location"], "clinician": slot["clinician"], "claim_url": OFFER_URL,
        "decline_url": f"{OFFER_URL}?decline=1", "expires_at": (now + timedelta(minutes=30)).isoformat()})


def send_every_email(harness: Harness) -> dict[str, bytes]:
    """Feed every event, then send everything due until nothing is left; label -> bytes received."""
    feed_every_event(harness)
    harness.dispatch()
    for _ in range(100):  # a bound, so a message that never leaves cannot hang the test
        due = sorted(next_attempt(row) for row in harness.rows() if row["status"] == "scheduled")
        if not due:
            break
        harness.clock.set(max(harness.clock(), due[0]))
        harness.dispatch()
    received = {str(message_from_bytes(raw, policy=policy.default)["Message-ID"]): raw
                for raw in harness.sink.handler.received}
    return {label: received[first_sent(harness, kind, booking_id)] for label, (kind, booking_id) in EXPECTED.items()}


def first_sent(harness: Harness, kind: str, booking_id: str | None) -> str:
    """The Message-ID of the first email of ``kind`` sent (about ``booking_id`` when given)."""
    sent = [row for row in harness.rows(booking_id) if row["kind"] == kind and row["status"] == "sent"]
    assert sent, f"no {kind} was sent" + (f" for {booking_id}" if booking_id else "")
    return sent[0]["smtp_message_id"]


def next_attempt(row: dict) -> datetime:
    """When the dispatcher may next try a scheduled message (its due time, or after a failure its retry time)."""
    return max(as_utc(moment) for moment in (row["due_at"], row["next_attempt_at"]) if moment is not None)


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive UTC datetimes back, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
