"""Finding 2 (issue 14): the booking service's copy of screening decisions keeps a flag, not the outcome.

Events and the HTTP lookup carry the outcome (crisis, ineligible, ...); the projection stores
only allowed/blocked with the email, screening id and validity. Migration 0003 scrubs old rows.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table, inspect, text

from kapbook_platform.runtime import alembic_config as platform_alembic_config
from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.service_layer.eligibility import EligibilityGate, record_decision, record_review
from kapbook_platform.contracts import EventType, make_envelope

pytestmark = pytest.mark.integration
# (Screening ids are UUIDs in life: the ones here are neutral so they cannot match by chance.)
CLINICAL = ("crisis", "cssrs", "opioid", "pregnan", "needs_review", "ineligible", "eligible", "approved", "declined")
NOW = datetime.now(timezone.utc)


@pytest.fixture
def service(tmp_path, db, database_factory):
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                                        eligibility_url="http://127.0.0.1:9", service_token="test-service-token-0123456789"))
    yield container
    container.runtime.engine.dispose()


def decided(screening_id: str, email: str, outcome: str):
    return make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
        "screening_id": screening_id, "patient_email": email, "outcome": outcome, "ruleset_version": "v1",
        "decided_at": NOW.isoformat(), "valid_until": (NOW + timedelta(days=90)).isoformat()})


def reviewed(screening_id: str, email: str, decision: str):
    return make_envelope(EventType.SCREENING_REVIEWED, "/kapbook/eligibility", {
        "screening_id": screening_id, "patient_email": email, "decision": decision,
        "reviewed_at": NOW.isoformat(), "valid_until": (NOW + timedelta(days=90)).isoformat()})


def projection_text(service) -> list[str]:
    """Every value of the projection, read with raw SQL."""
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM eligibility_decisions")).all()
    return [str(value).lower() for row in rows for value in row]


def allowed_by_email(service) -> dict[str, bool]:
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(text("SELECT patient_email, allowed FROM eligibility_decisions")).all()
    return {email: bool(allowed) for email, allowed in rows}


def test_crisis_and_opioid_decisions_are_kept_as_flags_without_the_outcome(service):
    service.migrate()
    with service.runtime.sessions.begin() as session:
        record_decision(session, decided("s-1", "sam@example.org", "crisis"))
        record_decision(session, decided("s-3", "opi@example.org", "needs_review"))  # takes an opioid
        record_decision(session, decided("s-4", "preg@example.org", "ineligible"))
        record_decision(session, decided("s-5", "pat@example.org", "eligible"))
        record_review(session, reviewed("s-3", "opi@example.org", "approved"))

    values = projection_text(service)
    assert "sam@example.org" in values  # the read does see the rows
    assert [word for word in CLINICAL for value in values if word in value] == []
    assert allowed_by_email(service) == {
        "sam@example.org": False, "opi@example.org": True, "preg@example.org": False, "pat@example.org": True}
    gate = EligibilityGate(client=None, valid_days=90)
    with service.runtime.sessions() as session:
        gate.check(repo.eligibility_decision(session, "s-3"), "opi@example.org", NOW)


def alembic_config(service) -> Config:
    return platform_alembic_config(service.runtime, t.metadata, "kapbook_booking.adapters.migrations")


def test_migration_0003_turns_old_outcomes_into_flags_and_drops_them(service):
    config = alembic_config(service)
    command.upgrade(config, "0002")  # the schema before this fix
    old = [
        ("s-1", "sam@example.org", "crisis", None),
        ("s-2", "sam2@example.org", "crisis", "approved"),
        ("s-3", "opi@example.org", "needs_review", None),
        ("s-4", "preg@example.org", "ineligible", None),
        ("s-5", "pat@example.org", "eligible", None),
        ("s-6", "no@example.org", "eligible", "declined"),
    ]
    with service.runtime.engine.begin() as connection:
        table = Table("eligibility_decisions", MetaData(), autoload_with=connection)
        connection.execute(table.insert(), [
            {"screening_id": sid, "patient_email": email, "outcome": outcome, "clinician_decision": clinician,
             "decided_at": NOW, "valid_until": NOW + timedelta(days=90)} for sid, email, outcome, clinician in old])
    assert any("crisis" in value for value in projection_text(service))

    command.upgrade(config, "head")

    with service.runtime.engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("eligibility_decisions")}
    assert columns == {"screening_id", "patient_email", "allowed", "decided_at", "valid_until"}
    assert [word for word in CLINICAL for value in projection_text(service) if word in value] == []
    assert allowed_by_email(service) == {
        "sam@example.org": False, "sam2@example.org": True, "opi@example.org": False, "preg@example.org": False,
        "pat@example.org": True, "no@example.org": False}

    command.downgrade(config, "0002")  # fail-safe: what was blocked stays blocked
    with service.runtime.engine.connect() as connection:
        back = dict(connection.execute(text(
            "SELECT patient_email, outcome FROM eligibility_decisions WHERE clinician_decision IS NULL")).all())
    assert back["pat@example.org"] == "eligible" and back["sam@example.org"] == "needs_review"
    command.upgrade(config, "head")
