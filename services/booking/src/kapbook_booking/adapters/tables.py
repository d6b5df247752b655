"""The booking service's tables (SQLAlchemy Core), including the no-overlap guarantees."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)

from kapbook_platform.database import UtcDateTime
from kapbook_platform.runtime import add_platform_tables

metadata = MetaData()
PLATFORM_TABLES = add_platform_tables(metadata)

# Statuses that occupy a clinician's and a room's time. Holds occupy it until they expire
# (expired holds are deleted in the same transaction, before any insert).
ACTIVE_STATUSES = ("held", "booked", "arrived")

locations = Table(
    "locations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("address", Text, nullable=True),
)

clinicians = Table(
    "clinicians",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True),
    Column("role", String(30), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("calendar_token", String(64), nullable=True, unique=True),
    # A fixed video room for all of this clinician's telehealth bookings (wins over the clinic's template).
    Column("video_room_url", String(2000), nullable=True),
)

appointment_types = Table(
    "appointment_types",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("category", String(30), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("buffer_before_minutes", Integer, nullable=False, default=0),
    Column("buffer_after_minutes", Integer, nullable=False, default=0),
    Column("min_notice_minutes", Integer, nullable=False, default=120),
    Column("horizon_days", Integer, nullable=False, default=60),
    Column("slot_step_minutes", Integer, nullable=False, default=15),
    Column("modality", String(20), nullable=False),
    Column("room_kind", String(30), nullable=True),
    Column("requires_eligibility", Boolean, nullable=False, default=False),
    Column("requires_driver", Boolean, nullable=False, default=False),
    Column("cancel_notice_hours", Integer, nullable=False, default=24),
    Column("reschedule_notice_hours", Integer, nullable=False, default=24),
    Column("active", Boolean, nullable=False, default=True),
    CheckConstraint("duration_minutes > 0", name="ck_type_duration_positive"),
)

clinician_appointment_types = Table(
    "clinician_appointment_types",
    metadata,
    Column("clinician_id", String(36), ForeignKey("clinicians.id", ondelete="CASCADE"), primary_key=True),
    Column("appointment_type_id", String(36), ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("location_id", String(36), ForeignKey("locations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

working_hours = Table(
    "working_hours",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("clinician_id", String(36), ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
    Column("location_id", String(36), ForeignKey("locations.id"), nullable=False),
    Column("weekday", Integer, nullable=False),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time, nullable=False),
    Column("effective_from", Date, nullable=True),
    Column("effective_until", Date, nullable=True),
    CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_hours_weekday"),
    CheckConstraint("start_time < end_time", name="ck_hours_order"),
    Index("ix_working_hours_clinician", "clinician_id"),
)

schedule_overrides = Table(
    "schedule_overrides",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("clinician_id", String(36), ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
    Column("location_id", String(36), ForeignKey("locations.id"), nullable=False),
    Column("date", Date, nullable=False),
    # Null start and end: closed that day. Otherwise one interval of that day's replacement hours.
    Column("start_time", Time, nullable=True),
    Column("end_time", Time, nullable=True),
    Index("ix_overrides_clinician_date", "clinician_id", "date"),
)

time_off = Table(
    "time_off",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("clinician_id", String(36), ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    Column("reason", String(200), nullable=True),
    CheckConstraint('start < "end"', name="ck_time_off_order"),
    Index("ix_time_off_clinician", "clinician_id", "start"),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("appointment_type_id", String(36), ForeignKey("appointment_types.id"), nullable=False),
    Column("clinician_id", String(36), ForeignKey("clinicians.id"), nullable=False),
    Column("location_id", String(36), ForeignKey("locations.id"), nullable=False),
    Column("room_id", String(36), ForeignKey("rooms.id"), nullable=True),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    # The time the booking takes from others: [start - buffer before, end + buffer after).
    Column("blocked_start", UtcDateTime(), nullable=False),
    Column("blocked_end", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("hold_expires_at", UtcDateTime(), nullable=True),
    Column("patient_name", String(200), nullable=True),
    Column("patient_email", String(320), nullable=True),
    Column("patient_phone", String(40), nullable=True),
    Column("patient_timezone", String(64), nullable=True),
    Column("screening_id", String(64), nullable=True),
    Column("driver_confirmed", Boolean, nullable=False, default=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("status_reason", Text, nullable=True),
    # Telehealth only: where the patient joins the video call; kept across reschedules.
    Column("join_url", String(2000), nullable=True),
    # A session of a series (see ``series``); both null for a booking that stands alone.
    Column("series_id", String(36), nullable=True),
    Column("series_position", Integer, nullable=True),
    CheckConstraint('start < "end"', name="ck_booking_order"),
    CheckConstraint("blocked_start <= start AND blocked_end >= \"end\"", name="ck_booking_blocked_covers"),
    Index("ix_bookings_clinician_blocked", "clinician_id", "blocked_start"),
    Index("ix_bookings_room_blocked", "room_id", "blocked_start"),
    Index("ix_bookings_start", "start"),
    Index("ix_bookings_series", "series_id"),
    # Every booking and offer first removes lapsed holds: only holds are in this index, so that is
    # one index probe, not a scan of every booking.
    Index("ix_bookings_held_expiry", "hold_expires_at",
          sqlite_where=text("status = 'held'"), postgresql_where=text("status = 'held'")),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("scope", String(50), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("booking_id", String(36), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

staff_members = Table(
    "staff_members",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("clinician_id", String(36), ForeignKey("clinicians.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # argon2id hash (PHC string, salt inside); null: this member signs in with no password yet.
    Column("password_hash", String(255), nullable=True),
    Column("password_changed_at", UtcDateTime(), nullable=True),
    # TOTP two-step verification: the base32 secret (pending until totp_enabled_at is set) and the
    # last time step a code was accepted for, so one code never signs in twice.
    Column("totp_secret", String(255), nullable=True),  # sealed (adapters/secret_box.py)
    Column("totp_enabled_at", UtcDateTime(), nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    # One staff account per clinician record: the linked clinician manages that schedule (0011).
    Index("ux_staff_members_clinician_id", "clinician_id", unique=True),
)

# Single-use recovery codes for a lost authenticator: only their SHA-256 (they are random, 40 bits).
staff_recovery_codes = Table(
    "staff_recovery_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(36), ForeignKey("staff_members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code_sha256", String(64), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
)

# A signed-in console browser: the cookie holds a random secret, this row only its SHA-256.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(36), ForeignKey("staff_members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    # When the staff member last typed their password in this session (sign-in or re-authentication).
    Column("authenticated_at", UtcDateTime(), nullable=False),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
)

# One-time password reset links: only the secret's SHA-256; single use, 30 minutes.
staff_password_resets = Table(
    "staff_password_resets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(36), ForeignKey("staff_members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
)

# Failed console sign-ins, for the lockout: the email only as SHA-256 (an unknown email counts the
# same as a known one, so the lockout tells nobody which emails exist).
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("email_sha256", String(64), nullable=False),
    Column("ip", String(64), nullable=True),
    Index("ix_sign_in_failures_email", "email_sha256", "at"),
    Index("ix_sign_in_failures_ip", "ip", "at"),
)

eligibility_decisions = Table(
    "eligibility_decisions",
    metadata,
    Column("screening_id", String(64), primary_key=True),
    Column("patient_email", String(320), nullable=False),
    # Allowed to book treatment or not: eligible, or approved by a clinician. The outcome word
    # (crisis, ineligible, ...) stays in the eligibility service, encrypted.
    Column("allowed", Boolean, nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("valid_until", UtcDateTime(), nullable=False),
    UniqueConstraint("screening_id", name="uq_decision_screening"),
)

# --- returning patients (issue 12 §2) -----------------------------------------------------------------

patients = Table(
    "patients",
    metadata,
    Column("id", String(36), primary_key=True),
    # Normalised (stripped, lower-case): the same person booking as Pat@Example.org is one patient.
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

patient_sign_in_links = Table(
    "patient_sign_in_links",
    metadata,
    # SHA-256 of the token in the emailed link; the token itself is never stored or logged.
    Column("token_sha256", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
    # Where to send the patient after signing in: a widget's page (an allowed origin) or null for /my.
    Column("return_to", String(2000), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Index("ix_patient_sign_in_links_email", "email", "created_at"),
)

patient_sessions = Table(
    "patient_sessions",
    metadata,
    # SHA-256 of the session cookie (kind "browser") or of a widget proof (kind "widget").
    Column("id_sha256", String(64), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False, default="browser"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Index("ix_patient_sessions_patient", "patient_id"),
)

# --- manage-link secrets (issue 14 finding 4) ---------------------------------------------------
# SHA-256 of each random manage-link secret ever sent for a booking; the secret itself is never
# stored. Rotation deletes a booking's rows (every link it had stops working) and adds one. A
# booking with no row here predates migration 0012 and still accepts its old signed token.
manage_link_secrets = Table(
    "manage_link_secrets",
    metadata,
    Column("secret_sha256", String(64), primary_key=True),
    Column("booking_id", String(36), ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_manage_link_secrets_booking", "booking_id"),
)

# "My appointments" finds a patient's bookings by lower-cased email.
Index("ix_bookings_patient_email_lower", func.lower(bookings.c.patient_email))


# A treatment protocol: a course of sessions of one appointment type and the rules it keeps.
protocols = Table(
    "protocols",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("appointment_type_id", String(36), ForeignKey("appointment_types.id"), nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("min_gap_hours", Integer, nullable=False, default=0),
    Column("max_window_days", Integer, nullable=False),
    Column("max_per_week", Integer, nullable=True),
    Column("requires_preparation", Boolean, nullable=False, default=False),
    Column("integration_within_days", Integer, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    CheckConstraint("sessions > 0", name="ck_protocol_sessions_positive"),
)

# A series booked as one plan; its sessions are bookings with series_id and series_position.
series = Table(
    "series",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("protocol_id", String(36), ForeignKey("protocols.id"), nullable=False),
    Column("patient_email", String(320), nullable=False),  # normalised: lower-case
    Column("status", String(20), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    Index("ix_series_patient_email", "patient_email"),
)


# --- Webhooks (Standard Webhooks): endpoints, one delivery per event and endpoint, each attempt ---
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("description", String(500), nullable=False, default=""),
    Column("event_types", JSON, nullable=False),
    # whsec_ secrets, encrypted with a key derived from BOOKING_SECRET_KEY (adapters/secret_box.py).
    Column("secret_sealed", Text, nullable=False),
    Column("previous_secret_sealed", Text, nullable=True),
    Column("previous_secret_expires_at", UtcDateTime(), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("disabled_reason", String(300), nullable=True),
    Column("failed_deliveries_in_row", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # The webhook-id header: the same on every retry and replay, so receivers can deduplicate.
    Column("id", String(40), primary_key=True),
    Column("endpoint_id", String(36), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending, succeeded, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(300), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhook_attempts_delivery", "delivery_id"),
)

# Clinicians' own calendars over CalDAV (README "Clinicians' own calendars").
calendar_connections = Table(
    "calendar_connections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("clinician_id", String(36), ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("username", String(255), nullable=False),
    # Encrypted with a key derived from BOOKING_SECRET_KEY under its own label (adapters/secret_box.py).
    Column("password_sealed", Text, nullable=False),
    # All-day and floating events are read in this zone.
    Column("timezone", String(64), nullable=False),
    Column("push_bookings", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("next_sync_at", UtcDateTime(), nullable=False),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("last_synced_at", UtcDateTime(), nullable=True),
    Column("last_attempt_at", UtcDateTime(), nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("failed_syncs_in_row", Integer, nullable=False, default=0),
    Column("busy_count", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("clinician_id", "url", name="uq_calendar_connection_url"),
    Index("ix_calendar_connections_due", "active", "next_sync_at"),
)

# The busy ranges the last good sync found; availability reads them like time off.
calendar_busy = Table(
    "calendar_busy",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection_id", String(36), ForeignKey("calendar_connections.id", ondelete="CASCADE"), nullable=False),
    Column("clinician_id", String(36), ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    CheckConstraint('start < "end"', name="ck_calendar_busy_order"),
    Index("ix_calendar_busy_clinician", "clinician_id", "start"),
    Index("ix_calendar_busy_connection", "connection_id"),
)

# Bookings to write into (or remove from) a connected calendar: one row per calendar and booking,
# marked pending in the transaction that changed the booking; the worker pushes its current state.
calendar_pushes = Table(
    "calendar_pushes",
    metadata,
    Column("connection_id", String(36), ForeignKey("calendar_connections.id", ondelete="CASCADE"), primary_key=True),
    Column("booking_id", String(36), ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(20), nullable=False),  # pending | pushed | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", UtcDateTime(), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("on_calendar", Boolean, nullable=False, default=False),
    Column("last_error", String(300), nullable=True),
    Column("pushed_at", UtcDateTime(), nullable=True),
    Index("ix_calendar_pushes_due", "status", "due_at"),
)


# --- The waitlist: patients waiting for a time, offers of freed slots (each held by a hold), freed times ---
# What every availability answer depends on, as counters: a trigger on each table an answer reads
# (bookings, hours, overrides, time off, calendar busy times, the catalogue) bumps one in the very
# transaction that writes, keyed by the clinician it concerns ("clinic" for catalogue rows), so
# writers of different clinicians never wait for each other. Their sum changes with every commit
# that could change an answer: a cached answer is used only under the sum it was computed under
# (service_layer/availability_cache.py). Written by migration 0022's triggers alone.
availability_versions = Table(
    "availability_versions",
    metadata,
    Column("key", String(36), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("appointment_type_id", String(36), ForeignKey("appointment_types.id"), nullable=False),
    Column("clinician_id", String(36), ForeignKey("clinicians.id"), nullable=True),
    Column("location_id", String(36), ForeignKey("locations.id"), nullable=True),
    Column("patient_name", String(200), nullable=False),
    Column("patient_email", String(320), nullable=False),  # normalised: lower-case
    Column("patient_phone", String(40), nullable=True),
    Column("patient_timezone", String(64), nullable=False),
    Column("screening_id", String(64), nullable=True),
    # [{"weekdays": ["tue", "thu"], "start": "15:00", "end": "20:00"}, ...] in the patient's zone.
    Column("windows", JSON, nullable=False),
    Column("earliest_date", Date, nullable=True),
    Column("latest_date", Date, nullable=True),
    Column("status", String(20), nullable=False),  # waiting | booked | left | expired
    # SHA-256 of the secret in the emailed "leave the waitlist" link.
    Column("leave_token_sha256", String(64), nullable=False, unique=True),
    Column("created_by", String(100), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_waitlist_entries_waiting", "appointment_type_id", "status", "joined_at"),
    Index("ix_waitlist_entries_email", "patient_email"),
)

waitlist_offers = Table(
    "waitlist_offers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("entry_id", String(36), ForeignKey("waitlist_entries.id", ondelete="CASCADE"), nullable=False),
    # The hold (a ``bookings`` row with status held) that keeps the slot for this patient: the
    # bookings' exclusion constraints make two live offers of one chair or clinician impossible.
    Column("hold_id", String(36), nullable=False),
    Column("clinician_id", String(36), ForeignKey("clinicians.id"), nullable=False),
    Column("location_id", String(36), ForeignKey("locations.id"), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # open | claimed | declined | expired | withdrawn
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("offered_by", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("booking_id", String(36), nullable=True),
    Index("ix_waitlist_offers_entry", "entry_id", "start"),
    Index("ix_waitlist_offers_open", "status", "expires_at"),
    # At most one live offer per patient's entry.
    Index("uq_waitlist_offers_one_open", "entry_id", unique=True,
          sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
)

# A time that became free (a cancellation, a move, an offer declined or lapsed), written in the
# transaction that freed it and worked through by the booking worker: nothing freed is forgotten.
waitlist_openings = Table(
    "waitlist_openings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("appointment_type_id", String(36), ForeignKey("appointment_types.id"), nullable=False),
    Column("clinician_id", String(36), ForeignKey("clinicians.id"), nullable=False),
    Column("start", UtcDateTime(), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=True),
    Index("ix_waitlist_openings_pending", "processed_at", "id"),
)
