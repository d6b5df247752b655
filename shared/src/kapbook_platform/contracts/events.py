"""Event payload schemas, one per versioned event type.

Rules for every payload: what the consumer needs and nothing more; never screening answers,
scores or free-text clinical notes (the eligibility service keeps those).
"""
from __future__ import annotations

from marshmallow import fields, validate

from kapbook_platform.contracts.schemas import StrictSchema


class EventType:
    BOOKING_CREATED = "kapbook.booking.created.v1"
    BOOKING_RESCHEDULED = "kapbook.booking.rescheduled.v1"
    BOOKING_CANCELLED = "kapbook.booking.cancelled.v1"
    BOOKING_NOSHOW = "kapbook.booking.noshow.v1"
    BOOKING_COMPLETED = "kapbook.booking.completed.v1"
    # Staff replaced the booking's manage link (the old ones stopped working): the data is the
    # booking as it is, with the new link; reminders emails it and updates messages not yet sent.
    BOOKING_MANAGE_LINK_REPLACED = "kapbook.booking.manage_link_replaced.v1"
    SCREENING_DECIDED = "kapbook.screening.decided.v2"
    # v1 carried the rules' reason codes ("lamotrigine", "bipolar_history"): answers in disguise.
    # Nothing publishes it any more; consumers still accept one already queued.
    SCREENING_DECIDED_V1 = "kapbook.screening.decided.v1"
    SCREENING_CRISIS = "kapbook.screening.crisis.v1"
    SCREENING_REVIEWED = "kapbook.screening.reviewed.v1"
    # A patient completed a check-in (PHQ-9 / GAD-7 between doses): ids only, never a score or answer.
    CHECK_IN_COMPLETED = "kapbook.check_in.completed.v1"
    # A check-in showed new risk (PHQ-9 item 9 above 0 or a high C-SSRS answer): on-call is alerted at once,
    # as for a crisis screening. A link to review, never the answers.
    CHECK_IN_ALERT = "kapbook.check_in.alert.v1"
    STAFF_CREDENTIAL_ISSUED = "kapbook.staff.credential_issued.v1"
    STAFF_CREDENTIAL_REVOKED = "kapbook.staff.credential_revoked.v1"
    # A course of care booked as one plan. Each session also has its own booking.* events (with
    # ``series`` set); the series events let reminders write one confirmation for the whole plan.
    SERIES_BOOKED = "kapbook.series.booked.v1"
    SERIES_CANCELLED = "kapbook.series.cancelled.v1"
    # A patient asked for a one-time sign-in link to "My appointments"; reminders emails it at once.
    PATIENT_SIGN_IN_LINK = "kapbook.patient.sign_in_link.v1"
    # The booking service stopped calling a webhook endpoint after sustained failure; reminders
    # emails the clinic's admins (``recipients``).
    WEBHOOK_ENDPOINT_DISABLED = "kapbook.webhook.endpoint_disabled.v1"
    # A staff member asked to reset their console password; reminders emails the one-time link at once.
    STAFF_PASSWORD_RESET_LINK = "kapbook.staff.password_reset_link.v1"
    # A patient joined the waitlist (reminders confirms it, with the one-click leave link), and a
    # freed slot is held for them as an offer (reminders emails the claim and decline links at once).
    WAITLIST_JOINED = "kapbook.waitlist.joined.v1"
    WAITLIST_OFFERED = "kapbook.waitlist.offered.v1"


class NamedRef(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class LocationRef(NamedRef):
    timezone = fields.String(required=True)
    address = fields.String(load_default=None, allow_none=True)


class AppointmentTypeRef(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True)
    category = fields.String(required=True)
    modality = fields.String(required=True, validate=validate.OneOf(["in_person", "telehealth"]))


class PatientContact(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    timezone = fields.String(required=True)


class SeriesRef(StrictSchema):
    """Where one session sits in its series: ids and counts only, no clinical content."""

    series_id = fields.String(required=True)
    protocol_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    position = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class BookingEventData(StrictSchema):
    """What the reminders service needs to plan and write a booking's emails."""

    booking_id = fields.String(required=True)
    sequence = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    status = fields.String(required=True)
    appointment_type = fields.Nested(AppointmentTypeRef, required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    location = fields.Nested(LocationRef, required=True)
    clinician = fields.Nested(NamedRef, required=True)
    patient = fields.Nested(PatientContact, required=True)
    manage_url = fields.String(required=True)
    cancellation_notice_hours = fields.Integer(required=True, strict=True)
    previous_start = fields.AwareDateTime(load_default=None, allow_none=True)
    # Telehealth: the video call's join URL (a secret of the booking: bodies only, never a subject
    # or a log line). Events published before it existed have none and stay valid.
    join_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    # Part of a treatment series ("infusion 3 of 6"); None for a booking that stands alone.
    series = fields.Nested(SeriesRef, load_default=None, allow_none=True)


class SeriesBookedData(StrictSchema):
    """A whole series was booked at once: one confirmation listing every session, one invite each.

    ``sessions`` are the same snapshots as each session's own ``booking.created`` event, in order.
    """

    series_id = fields.String(required=True)
    protocol = fields.Nested(NamedRef, required=True)
    patient = fields.Nested(PatientContact, required=True)
    sessions = fields.List(fields.Nested(BookingEventData), required=True, validate=validate.Length(min=1, max=60))
    booked_at = fields.AwareDateTime(required=True)


class SeriesCancelledData(StrictSchema):
    """The remaining sessions of a series were cancelled (each also has its booking.cancelled event)."""

    series_id = fields.String(required=True)
    protocol = fields.Nested(NamedRef, required=True)
    patient = fields.Nested(PatientContact, required=True)
    cancelled_booking_ids = fields.List(fields.String(), required=True)
    kept_booking_ids = fields.List(fields.String(), required=True)
    cancelled_at = fields.AwareDateTime(required=True)


class PatientSignInLinkData(StrictSchema):
    """A one-time sign-in link for a patient. The link is a secret: email body only, never logged."""

    email = fields.Email(required=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    link_url = fields.String(required=True, validate=validate.Length(max=2000))
    expires_at = fields.AwareDateTime(required=True)


class ScreeningDecidedData(StrictSchema):
    """An automated screening decision: the outcome only. Reasons stay in the eligibility service,
    because a reason ("takes lamotrigine", "history of psychosis") is an answer in other words."""

    screening_id = fields.String(required=True)
    patient_email = fields.Email(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(["eligible", "needs_review", "ineligible", "crisis"]))
    ruleset_version = fields.String(required=True)
    decided_at = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)


class ScreeningDecidedV1Data(ScreeningDecidedData):
    """The retired v1 payload (with reason codes), accepted so that events queued before the upgrade are not lost."""

    reason_codes = fields.List(fields.String(), required=True)


class ScreeningCrisisData(StrictSchema):
    """A screening showed acute risk: staff must be alerted now (a link, never the answers)."""

    screening_id = fields.String(required=True)
    review_url = fields.String(required=True)
    decided_at = fields.AwareDateTime(required=True)


class ScreeningReviewedData(StrictSchema):
    screening_id = fields.String(required=True)
    patient_email = fields.Email(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(["approved", "declined"]))
    reviewed_at = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)


class CheckInCompletedData(StrictSchema):
    """A check-in was completed: which one and for which booking. Nothing about how the patient is."""

    check_in_id = fields.String(required=True)
    booking_id = fields.String(required=True)
    occasion = fields.String(required=True, validate=validate.OneOf(["before_dose", "after_integration"]))
    completed_at = fields.AwareDateTime(required=True)


class CheckInAlertData(StrictSchema):
    """A check-in needs a clinician now (the same path as a crisis screening): a link, never the answers."""

    check_in_id = fields.String(required=True)
    review_url = fields.String(required=True)
    decided_at = fields.AwareDateTime(required=True)


class StaffCredentialIssuedData(StrictSchema):
    """A staff bearer token was issued; only its SHA-256 digest travels."""

    credential_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    staff_name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["admin", "clinician", "front_desk"]))
    token_sha256 = fields.String(required=True, validate=validate.Length(equal=64))
    issued_at = fields.AwareDateTime(required=True)
    # Added with token expiry; absent or null: never expires (older events, console session delegates).
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)
    # Added with scoped tokens (kapbook_platform.staff.scopes); absent or null: the role's full rights.
    scopes = fields.List(fields.String(validate=validate.OneOf(["read_only", "bookings", "schedules", "reviews"])),
                         load_default=None, allow_none=True)
    # Ed25519 by the booking service over the rest (kapbook_platform.staff.signing); consumers refuse
    # an event without a valid one. Optional here only so the schema still reads older events.
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class StaffCredentialRevokedData(StrictSchema):
    credential_id = fields.String(required=True)
    revoked_at = fields.AwareDateTime(required=True)
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))  # as above


class StaffPasswordResetLinkData(StrictSchema):
    """A one-time password reset link for a staff member (single use, 30 minutes). The link is a
    secret: email body only, never logged."""

    reset_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(max=200))
    link_url = fields.String(required=True, validate=validate.Length(max=2000))
    expires_at = fields.AwareDateTime(required=True)


class WebhookEndpointDisabledData(StrictSchema):
    """A webhook endpoint was disabled: who to tell and what happened (no event content)."""

    endpoint_id = fields.String(required=True)
    url = fields.String(required=True, validate=validate.Length(max=2000))
    description = fields.String(required=True, validate=validate.Length(max=500))
    recipients = fields.List(fields.Email(), required=True)
    failed_deliveries = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    disabled_at = fields.AwareDateTime(required=True)


class WaitlistJoinedData(StrictSchema):
    """A patient is on the waitlist. The leave link is a secret: email body only, never logged.
    Why they wait (the care type) goes in the body only, never in a subject."""

    entry_id = fields.String(required=True)
    patient = fields.Nested(PatientContact, required=True)
    appointment_type = fields.Nested(AppointmentTypeRef, required=True)
    windows = fields.List(fields.String(validate=validate.Length(max=100)), required=True, validate=validate.Length(max=14))
    leave_url = fields.String(required=True, validate=validate.Length(max=2000))
    expires_at = fields.AwareDateTime(required=True)


class WaitlistOfferedData(StrictSchema):
    """A freed slot is held for one waiting patient until ``expires_at``; the links are secrets (the
    offer's page also lets the patient leave the waitlist)."""

    offer_id = fields.String(required=True)
    entry_id = fields.String(required=True)
    patient = fields.Nested(PatientContact, required=True)
    appointment_type = fields.Nested(AppointmentTypeRef, required=True)
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    location = fields.Nested(LocationRef, required=True)
    clinician = fields.Nested(NamedRef, required=True)
    claim_url = fields.String(required=True, validate=validate.Length(max=2000))
    decline_url = fields.String(required=True, validate=validate.Length(max=2000))
    expires_at = fields.AwareDateTime(required=True)


EVENT_SCHEMAS: dict[str, type[StrictSchema]] = {
    EventType.BOOKING_CREATED: BookingEventData,
    EventType.BOOKING_RESCHEDULED: BookingEventData,
    EventType.BOOKING_CANCELLED: BookingEventData,
    EventType.BOOKING_NOSHOW: BookingEventData,
    EventType.BOOKING_COMPLETED: BookingEventData,
    EventType.BOOKING_MANAGE_LINK_REPLACED: BookingEventData,
    EventType.SCREENING_DECIDED: ScreeningDecidedData,
    EventType.SCREENING_DECIDED_V1: ScreeningDecidedV1Data,
    EventType.SCREENING_CRISIS: ScreeningCrisisData,
    EventType.SCREENING_REVIEWED: ScreeningReviewedData,
    EventType.CHECK_IN_COMPLETED: CheckInCompletedData,
    EventType.CHECK_IN_ALERT: CheckInAlertData,
    EventType.STAFF_CREDENTIAL_ISSUED: StaffCredentialIssuedData,
    EventType.STAFF_CREDENTIAL_REVOKED: StaffCredentialRevokedData,
    EventType.SERIES_BOOKED: SeriesBookedData,
    EventType.SERIES_CANCELLED: SeriesCancelledData,
    EventType.PATIENT_SIGN_IN_LINK: PatientSignInLinkData,
    EventType.WEBHOOK_ENDPOINT_DISABLED: WebhookEndpointDisabledData,
    EventType.STAFF_PASSWORD_RESET_LINK: StaffPasswordResetLinkData,
    EventType.WAITLIST_JOINED: WaitlistJoinedData,
    EventType.WAITLIST_OFFERED: WaitlistOfferedData,
}
