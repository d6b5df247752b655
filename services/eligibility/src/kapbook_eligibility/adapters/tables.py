"""The eligibility service's tables. Answers are stored only encrypted."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, LargeBinary, MetaData, String, Table, UniqueConstraint, text

from kapbook_platform.database import UtcDateTime
from kapbook_platform.runtime import add_platform_tables

metadata = MetaData()
PLATFORM_TABLES = add_platform_tables(metadata)

rule_sets = Table(
    "rule_sets",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("settings", JSON, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    # At most one active rule set, even when two clinicians publish at the same moment.
    Index("uq_rule_sets_one_active", "active", unique=True, sqlite_where=text("active"), postgresql_where=text("active")),
)

screenings = Table(
    "screenings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_name", String(200), nullable=False),
    Column("patient_email", String(320), nullable=False),
    Column("questionnaire_version", String(40), nullable=False),
    Column("ruleset_version", String(64), nullable=False),
    # Fernet token of the JSON answers; never stored or logged in the clear.
    Column("answers_encrypted", LargeBinary, nullable=False),
    # The outcome, the reasons and the derived scores are health data: they live only in the
    # encrypted result, never in a plaintext column beside the name and email.
    Column("result_encrypted", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),
    # Review-queue order only (0 = review first, 1 = normal); it names no reason or outcome.
    Column("priority", Integer, nullable=False, server_default=text("1")),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("valid_until", UtcDateTime(), nullable=False),
    Index("ix_screenings_status", "status", "submitted_at"),
    Index("ix_screenings_email", "patient_email"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("screening_id", String(36), nullable=False, unique=True),
    Column("decision", String(20), nullable=False),
    Column("note_encrypted", LargeBinary, nullable=True),
    Column("reviewer_id", String(64), nullable=False),
    Column("reviewer_name", String(200), nullable=False),
    Column("reviewed_at", UtcDateTime(), nullable=False),
)

# Check-ins between doses: like screenings, the answers and the scores exist only encrypted.
check_ins = Table(
    "check_ins",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("booking_id", String(64), nullable=False),
    Column("occasion", String(20), nullable=False),  # before_dose or after_integration
    Column("patient_name", String(200), nullable=False),
    Column("patient_email", String(320), nullable=False),
    Column("session_start", UtcDateTime(), nullable=False),
    Column("questionnaire_version", String(40), nullable=False),
    Column("answers_encrypted", LargeBinary, nullable=False),
    Column("result_encrypted", LargeBinary, nullable=False),
    # decided, or pending_review until a clinician has followed up an alert, then reviewed.
    Column("status", String(20), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("reviewed_at", UtcDateTime(), nullable=True),
    Column("reviewer_name", String(200), nullable=True),
    # One check-in per link: a second submission of the same link is refused, not stored twice.
    UniqueConstraint("booking_id", "occasion", name="uq_check_ins_booking_occasion"),
    Index("ix_check_ins_email", "patient_email", "submitted_at"),
    Index("ix_check_ins_status", "status", "submitted_at"),
)
