"""No answer, score or note ever reaches a log line, at any level, on the happy path or an error path.

Every record of a full screening, its relay, the clinician's review and the decision lookup is
captured twice: by caplog at DEBUG and through the service's own JSON formatter. (SQLAlchemy's
statement logging stays at its own WARN default, as in production; the columns it would show
are ciphertext anyway, which test_encryption_at_rest checks.)
"""
from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import update

from kapbook_eligibility.adapters.tables import screenings
from kapbook_eligibility.domain import load_questionnaire
from kapbook_platform.logs import JsonFormatter

pytestmark = pytest.mark.integration

DATE_OF_BIRTH = "1958-12-03"
NOTE = "Kestrel review: patient disclosed a plan last week, now staying with her brother."
SENTINEL_VALUE = "sentinel-value-9f3"
NOISY_LOGGERS = ("kombu", "amqp", "werkzeug", "urllib3", "alembic")
SCORE_WORDS = ('"total"', "'total'", "item9", "cssrs_risk", "treatment_resistant", "moderately_severe",
               "moderately severe", "failed_trials")


@pytest.fixture
def json_log() -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("eligibility"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def forbidden_texts(answers: dict) -> list[str]:
    """Everything that must never be logged: answer keys and distinctive values, scores, the note."""
    link_ids = list(load_questionnaire().link_ids)
    return [DATE_OF_BIRTH, NOTE, "Kestrel", SENTINEL_VALUE, "sentinel_question", "lamotrigine", "snri", *link_ids, *SCORE_WORDS]


def test_a_full_screening_and_review_logs_no_answers_scores_or_notes(
    client, eligibility, answers, helpers, clinician, caplog, json_log
):
    caplog.set_level(logging.DEBUG)
    for name in NOISY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    sensitive = answers | helpers.crisis_changes | {
        "date_of_birth": DATE_OF_BIRTH,
        "phq9_9": 2,
        "phq9_1": 3, "phq9_2": 3, "phq9_3": 3, "phq9_4": 3, "phq9_5": 3,
        "bp_systolic": 162,
        "bp_diastolic": 101,
        "medications": ["lamotrigine", "snri", "benzodiazepine"],
        "benzodiazepine_diazepam_mg": 12.5,
        "failed_antidepressant_trials": 4,
    }
    patient = {"name": "Pat Example", "email": "pat@example.org"}
    service = {"Authorization": f"Bearer {eligibility.config.service_token}"}

    client.get("/api/eligibility/v1/questionnaire")
    rejected = client.post("/api/eligibility/v1/screenings", json={"patient": patient, "answers": sensitive | {
        "sentinel_question": SENTINEL_VALUE, "phq9_7": 7, "date_of_birth": "1958-13-03"}})
    created = client.post("/api/eligibility/v1/screenings", json={"patient": patient, "answers": sensitive})
    screening_id = created.json["id"]
    eligibility.runtime.relay().publish_pending()
    client.get("/api/eligibility/v1/reviews?status=pending", headers=clinician.headers)
    opened = client.get(f"/api/eligibility/v1/screenings/{screening_id}", headers=clinician.headers)
    reviewed = client.post(f"/api/eligibility/v1/screenings/{screening_id}/review",
                           json={"decision": "declined", "note": NOTE}, headers=clinician.headers)
    twice = client.post(f"/api/eligibility/v1/screenings/{screening_id}/review",
                        json={"decision": "approved", "note": NOTE}, headers=clinician.headers)
    lookup = client.get(f"/api/eligibility/v1/decisions/{screening_id}", headers=service)
    unreadable = _open_a_tampered_screening(client, eligibility, answers, clinician)

    assert [rejected.status_code, created.status_code, opened.status_code, reviewed.status_code, twice.status_code,
            lookup.status_code, unreadable.status_code] == [422, 201, 200, 201, 409, 200, 500]
    assert created.json["outcome"] == "crisis" and opened.json["answers"]["date_of_birth"] == DATE_OF_BIRTH
    captured = _captured_text(caplog, json_log)
    # The capture itself worked: requests, the decision and the unexpected error are all there.
    assert screening_id in captured and '"status": 422' in captured and "unhandled error" in captured
    assert "Traceback" in captured
    leaks = [text for text in forbidden_texts(sensitive) if text in captured]
    assert leaks == [], f"found in the logs: {leaks}"


def _open_a_tampered_screening(client, eligibility, answers, clinician):
    """An unexpected error (a ciphertext that will not open) exercises the exception logging path."""
    victim = client.post("/api/eligibility/v1/screenings", json={
        "patient": {"name": "V", "email": "v@example.org"}, "answers": answers | {"hypertension": True}}).json["id"]
    with eligibility.runtime.sessions.begin() as session:
        session.execute(update(screenings).where(screenings.c.id == victim).values(result_encrypted=b"not a fernet token"))
    return client.get(f"/api/eligibility/v1/screenings/{victim}", headers=clinician.headers)


def _captured_text(caplog, json_log: io.StringIO) -> str:
    formatter = JsonFormatter("eligibility")
    parts = [json_log.getvalue()]
    for record in caplog.records:
        parts += [formatter.format(record), record.getMessage(), repr(record.args), repr(vars(record))]
    return "\n".join(parts)
