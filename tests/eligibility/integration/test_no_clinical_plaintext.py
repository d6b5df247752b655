"""Finding 2 (issue 14): no outcome or reason code in a plaintext column beside the patient's name and email.

The outcome, the reason codes and the scores live only in ``result_encrypted``; the review queue
orders by a coarse ``priority`` (0 = review first) that names neither. Migration 0003 scrubs rows
written under the old schema.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import LargeBinary, MetaData, Table, inspect, text

from kapbook_platform.runtime import alembic_config as platform_alembic_config
from kapbook_platform.staff.principal import StaffPrincipal
from kapbook_eligibility.adapters.tables import metadata
from kapbook_eligibility.domain import ReasonCode
from kapbook_eligibility.service_layer.screenings import answers_context, result_context

pytestmark = pytest.mark.integration

REVIEWS = "/api/eligibility/v1/reviews"
SCREENINGS = "/api/eligibility/v1/screenings"
# Clinical words that must never sit in the clear: outcomes and every reason code.
CLINICAL = {"crisis", "cssrs", "opioid", "pregnan", "needs_review", "ineligible"} | {code.value for code in ReasonCode}
# Not patient data: the rule set is clinic configuration; outbox/inbox/dead letters are the event
# transport, whose payloads are the contracts in kapbook_platform.contracts.events.
NOT_PATIENT_TABLES = {"rule_sets", "outbox", "inbox", "dead_letters"}


def plaintext_values(engine) -> dict[str, list[str]]:
    """Every non-binary value of every patient-data table, read with raw SQL (no ORM, no decryption)."""
    found: dict[str, list[str]] = {}
    with engine.connect() as connection:
        schema = inspect(connection)
        for table in schema.get_table_names():
            if table in NOT_PATIENT_TABLES or table == "alembic_version":
                continue
            columns = [c["name"] for c in schema.get_columns(table) if not isinstance(c["type"], LargeBinary)]
            columns = [c for c in columns if not c.endswith("_encrypted")]
            rows = connection.execute(text(f"SELECT {', '.join(columns)} FROM {table}")).all()
            found[table] = [str(value).lower() for row in rows for value in row if value is not None]
    return found


def clinical_words_in(values: dict[str, list[str]]) -> list[tuple[str, str]]:
    return sorted({(table, word) for table, vs in values.items() for v in vs for word in CLINICAL if word in v})


def test_crisis_and_opioid_screenings_leave_no_clinical_word_in_the_clear(client, submit, eligibility, answers, helpers, clinician):
    crisis = submit(answers | helpers.crisis_changes, email="sam@example.org")
    opioid = submit(answers | {"medications": ["opioid"]}, email="opi@example.org")
    pregnant = submit(answers | {"pregnant": True}, email="preg@example.org")
    assert (crisis.json["outcome"], opioid.json["outcome"], pregnant.json["outcome"]) == ("crisis", "needs_review", "ineligible")
    # A clinician opens and decides on the crisis: the audit log and the review row are checked too.
    assert client.get(f"{SCREENINGS}/{crisis.json['id']}", headers=clinician.headers).status_code == 200
    review = client.post(f"{SCREENINGS}/{crisis.json['id']}/review", json={"decision": "declined", "note": "x"},
                         headers=clinician.headers)
    assert review.status_code == 201, review.json

    values = plaintext_values(eligibility.runtime.engine)
    assert {"screenings", "reviews", "audit_log"} <= set(values)
    assert "sam@example.org" in values["screenings"]  # the scan does read the rows
    assert clinical_words_in(values) == []


def test_the_queue_and_the_decision_lookup_still_read_outcome_and_reasons(client, submit, eligibility, answers, helpers, clinician):
    opioid = submit(answers | {"medications": ["opioid"]}, email="opi@example.org").json["id"]
    crisis = submit(answers | helpers.crisis_changes, email="sam@example.org").json["id"]

    queue = client.get(f"{REVIEWS}?status=pending", headers=clinician.headers).json
    items = queue["items"] if isinstance(queue, dict) else queue
    listed = [(item["id"], item["outcome"], item["reason_codes"]) for item in items]
    assert listed == [(crisis, "crisis", ["cssrs_high_risk"]), (opioid, "needs_review", ["opioid"])]
    assert eligibility.screenings.decision_for(crisis)["outcome"] == "crisis"
    assert eligibility.screenings.decision_for(opioid)["outcome"] == "needs_review"


def alembic_config(container) -> Config:
    return platform_alembic_config(container.runtime, metadata, "kapbook_eligibility.adapters.migrations")


def old_style_row(container, outcome: str, codes: list[str], status: str, email: str, submitted_at: datetime) -> dict:
    """A screening as the code before migration 0003 wrote it: outcome and codes in the clear and sealed."""
    screening_id = str(uuid.uuid4())
    result = {
        "outcome": outcome,
        "reasons": [{"code": code, "outcome": outcome, "message": code} for code in codes],
        "scores": {"phq9": {"total": 8, "band": "mild", "item9": 0}, "gad7": {"total": 7, "band": "mild"},
                   "cssrs_risk": "high" if outcome == "crisis" else "none"},
        "treatment_resistant": True, "failed_trials": 2, "ruleset_version": "default-2026-11-1",
        "questionnaire_version": "1", "decided_on": submitted_at.date().isoformat(),
        "valid_until": (submitted_at + timedelta(days=30)).date().isoformat(),
    }
    return {
        "id": screening_id, "patient_name": "Old Row", "patient_email": email, "questionnaire_version": "1",
        "ruleset_version": "default-2026-11-1",
        "answers_encrypted": container.cipher.seal(answers_context(screening_id), {"pregnant": False}),
        "outcome": outcome, "reason_codes": codes,
        "result_encrypted": container.cipher.seal(result_context(screening_id), result),
        "status": status, "submitted_at": submitted_at, "valid_until": submitted_at + timedelta(days=30),
    }


def test_migration_0003_scrubs_rows_written_under_the_old_schema(make_container):
    container = make_container()
    config = alembic_config(container)
    command.upgrade(config, "0002")  # the schema before this fix
    assert "reason_codes" in {c["name"] for c in inspect(container.runtime.engine).get_columns("screenings")}
    start = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
    rows = [
        old_style_row(container, "needs_review", ["opioid"], "pending_review", "opi@example.org", start),
        old_style_row(container, "crisis", ["cssrs_high_risk", "phq9_item9_positive"], "pending_review", "sam@example.org",
                      start + timedelta(hours=1)),
        old_style_row(container, "ineligible", ["pregnancy"], "decided", "preg@example.org", start),
    ]
    with container.runtime.engine.begin() as connection:
        old_table = Table("screenings", MetaData(), autoload_with=connection)
        connection.execute(old_table.insert(), rows)
    assert ("screenings", "opioid") in clinical_words_in(plaintext_values(container.runtime.engine))

    command.upgrade(config, "head")

    columns = {c["name"] for c in inspect(container.runtime.engine).get_columns("screenings")}
    assert {"outcome", "reason_codes"}.isdisjoint(columns) and "priority" in columns
    assert clinical_words_in(plaintext_values(container.runtime.engine)) == []
    with container.runtime.engine.connect() as connection:
        priorities = dict(connection.execute(text("SELECT patient_email, priority FROM screenings")).all())
    assert priorities == {"opi@example.org": 1, "sam@example.org": 0, "preg@example.org": 1}
    # The service reads the scrubbed rows from the encrypted result: crises still come first.
    queue = container.reviews.queue("pending", StaffPrincipal("staff-c", "Clin", "clinician", "cred-c"), "192.0.2.1")
    assert [(item["patient"]["email"], item["outcome"], item["reason_codes"]) for item in queue] == [
        ("sam@example.org", "crisis", ["cssrs_high_risk", "phq9_item9_positive"]),
        ("opi@example.org", "needs_review", ["opioid"]),
    ]
    assert container.screenings.decision_for(rows[2]["id"])["outcome"] == "ineligible"
