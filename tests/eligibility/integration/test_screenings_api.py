"""Submitting a screening over HTTP: each outcome with its events, per-item 422s, and the relay to the broker."""
from __future__ import annotations

from typing import Any

import pytest

from kapbook_eligibility.adapters.tables import screenings
from kapbook_eligibility.domain import ReasonCode
from kapbook_platform.contracts import EventType, parse_envelope

pytestmark = pytest.mark.integration

DEFAULT_RULESET = "default-2026-11-1"
DECIDED_KEYS = {"screening_id", "patient_email", "outcome", "ruleset_version", "decided_at", "valid_until"}
CRISIS_KEYS = {"screening_id", "review_url", "decided_at"}

OUTCOMES = [
    # (id, answer changes, outcome, reason codes)
    ("eligible", {}, "eligible", []),
    ("psychosis", {"psychosis_history": True}, "needs_review", ["psychosis_history"]),
    ("bipolar", {"bipolar_history": True}, "needs_review", ["bipolar_history"]),
    ("blood-pressure", {"bp_systolic": 150, "bp_diastolic": 85}, "needs_review", ["blood_pressure_high"]),
    (
        "benzodiazepine-high-dose",
        {"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": 10},
        "needs_review",
        ["benzodiazepine_high_dose"],
    ),
    ("lamotrigine-maoi", {"medications": ["lamotrigine", "maoi"]}, "needs_review", ["lamotrigine", "maoi"]),
    ("phq9-item9", {"phq9_9": 1}, "needs_review", ["phq9_item9_positive"]),
    (
        "cssrs-moderate",
        {"cssrs_1": True, "cssrs_2": True, "cssrs_3": True, "cssrs_4": False, "cssrs_5": False},
        "needs_review",
        ["cssrs_moderate_risk"],
    ),
    ("pregnancy", {"pregnant": True}, "ineligible", ["pregnancy"]),
    ("under-18", {"date_of_birth": "2010-02-01"}, "ineligible", ["under_minimum_age"]),
    ("hypersensitivity", {"ketamine_hypersensitivity": True}, "ineligible", ["ketamine_hypersensitivity"]),
    (
        "aneurysm-and-psychosis",
        {"aneurysmal_vascular_disease": True, "psychosis_history": True},
        "ineligible",
        ["aneurysmal_vascular_disease", "psychosis_history"],
    ),
    (
        "cssrs-intent",
        {"cssrs_2": True, "cssrs_3": True, "cssrs_4": True, "cssrs_5": False},
        "crisis",
        ["cssrs_high_risk"],
    ),
    (
        "cssrs-recent-behaviour",
        {"cssrs_6": True, "cssrs_6_recent": True, "phq9_9": 2},
        "crisis",
        ["cssrs_high_risk", "phq9_item9_positive"],
    ),
]


@pytest.mark.parametrize("changes, outcome, reason_codes", [case[1:] for case in OUTCOMES], ids=[case[0] for case in OUTCOMES])
def test_each_outcome_is_answered_and_published(submit, eligibility, helpers, answers, changes, outcome, reason_codes):
    response = submit(answers | changes, email="Pat@Example.org")

    assert response.status_code == 201, response.json
    body = response.json
    assert body["outcome"] == outcome
    assert [reason["code"] for reason in body["reasons"]] == reason_codes
    assert all(reason["message"] for reason in body["reasons"])
    assert body["ruleset_version"] == DEFAULT_RULESET
    assert body["valid_until"] == "2027-02-18T23:59:59+00:00"  # decided 2026-11-20, valid 90 days
    assert ("crisis_resources" in body) == (outcome == "crisis")

    events = helpers.outbox_events(eligibility)
    expected_types = ([EventType.SCREENING_CRISIS] if outcome == "crisis" else []) + [EventType.SCREENING_DECIDED]
    assert [event["type"] for event in events] == expected_types
    decided = events[-1]["data"]
    assert set(decided) == DECIDED_KEYS
    assert decided == decided | {
        "screening_id": body["id"],
        "patient_email": "pat@example.org",
        "outcome": outcome,
        "ruleset_version": DEFAULT_RULESET,
    }


def test_the_response_carries_scores_and_treatment_resistance(submit, answers):
    body = submit(answers | {"failed_antidepressant_trials": 1}).json

    assert body["scores"] == {
        "phq9": {"total": 8, "band": "mild", "item9": 0},
        "gad7": {"total": 7, "band": "mild"},
        "cssrs_risk": "none",
    }
    assert body["treatment_resistant"] is False
    assert submit(answers | {"failed_antidepressant_trials": 2}).json["treatment_resistant"] is True


@pytest.mark.parametrize(
    "instrument, items, edges",
    [
        ("phq9", 9, [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
                     (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe")]),
        ("gad7", 7, [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
                     (14, "moderate"), (15, "severe"), (21, "severe")]),
    ],
)
def test_band_edges_over_http(submit, answers, instrument, items, edges):
    for total, band in edges:
        # Spread the total over items 1..n-1, keeping PHQ-9 item 9 at 0 where possible.
        values = _spread(total, items, keep_last_zero=instrument == "phq9" and total <= 24)
        scored = submit(answers | {f"{instrument}_{n}": value for n, value in enumerate(values, start=1)}).json["scores"]
        assert (scored[instrument]["total"], scored[instrument]["band"]) == (total, band)


def _spread(total: int, items: int, keep_last_zero: bool) -> list[int]:
    slots = items - 1 if keep_last_zero else items
    values = [min(3, max(0, total - 3 * n)) for n in range(slots)]
    return values + ([0] if keep_last_zero else [])


def test_crisis_shows_resources_and_alerts_with_a_link_only(submit, eligibility, helpers, answers):
    response = submit(answers | helpers.crisis_changes)

    body = response.json
    assert body["outcome"] == "crisis"
    numbers = {resource.get("phone") for resource in body["crisis_resources"]}
    assert {"988", "911"} <= numbers
    assert any(resource.get("sms") == "988" for resource in body["crisis_resources"])
    crisis = helpers.outbox_events(eligibility)[0]
    assert crisis["type"] == EventType.SCREENING_CRISIS
    assert set(crisis["data"]) == CRISIS_KEYS
    assert crisis["data"]["review_url"] == f"https://clinic.example/staff/screenings/{body['id']}"


def test_a_crisis_stays_pending_review_and_blocks_treatment_in_the_lookup(submit, client, eligibility, helpers, answers):
    screening_id = submit(answers | helpers.crisis_changes).json["id"]

    lookup = client.get(f"/api/eligibility/v1/decisions/{screening_id}", headers=_service_headers(eligibility))

    assert lookup.status_code == 200
    assert lookup.json["outcome"] == "crisis" and lookup.json["clinician_decision"] is None
    assert [row["status"] for row in helpers.table_rows(eligibility, screenings)] == ["pending_review"]


def test_events_carry_no_answers_or_scores(submit, eligibility, helpers, answers):
    submit(answers | helpers.crisis_changes | {"date_of_birth": "1971-09-23", "bp_systolic": 171})

    crisis, decided = helpers.outbox_events(eligibility)
    # Exactly the contract's fields: an answer or a score has nowhere to hide.
    assert set(crisis["data"]) == CRISIS_KEYS
    assert set(decided["data"]) == DECIDED_KEYS
    assert not any(code.value in str(event) for event in (crisis, decided) for code in ReasonCode if code.value != "eligible")
    for event in (crisis, decided):
        assert "1971-09-23" not in str(event)


def test_screenings_are_published_through_the_relay_to_the_broker(eligibility, broker, submit, helpers, answers):
    screening_id = submit(answers | helpers.crisis_changes).json["id"]

    assert eligibility.runtime.relay().publish_pending() == 2

    booking = [parse_envelope(body) for body in helpers.received(eligibility, "booking", 2)]
    # The outbox orders the alert first (checked above); the filesystem broker may swap messages sent in the same ms.
    assert sorted(envelope.type for envelope in booking) == [EventType.SCREENING_CRISIS, EventType.SCREENING_DECIDED]
    assert {envelope.data["screening_id"] for envelope in booking} == {screening_id}
    (alert,) = [parse_envelope(body) for body in helpers.received(eligibility, "reminders", 1)]
    assert alert.type == EventType.SCREENING_CRISIS
    assert alert.data["review_url"].endswith(f"/staff/screenings/{screening_id}")
    assert eligibility.runtime.relay().pending_count() == 0


# --- rejected requests -------------------------------------------------------------------


REQUIRED = "This question is required."
NOT_ASKED = "This question was not asked, so it cannot be answered."
UNKNOWN = "This is not a question in this questionnaire."
NOT_INTEGER = "Must be a whole number."
NOT_BOOLEAN = "Must be yes or no (true or false)."
NOT_DATE = "Must be a real date written as YYYY-MM-DD."

INVALID_ANSWERS = [
    ("missing", {"phq9_3": None}, {"phq9_3": [REQUIRED]}),
    ("out-of-range", {"phq9_1": 4}, {"phq9_1": ["Must be between 0 and 3."]}),
    ("negative-trials", {"failed_antidepressant_trials": -1}, {"failed_antidepressant_trials": ["Must be between 0 and 50."]}),
    ("unknown-link-id", {"favourite_colour": "teal-sentinel"}, {"favourite_colour": [UNKNOWN]}),
    ("not-asked", {"cssrs_3": True}, {"cssrs_3": [NOT_ASKED]}),
    ("not-asked-recent", {"cssrs_6_recent": False}, {"cssrs_6_recent": [NOT_ASKED]}),
    ("string-for-integer", {"phq9_2": "2"}, {"phq9_2": [NOT_INTEGER]}),
    ("float-for-integer", {"bp_systolic": 150.0}, {"bp_systolic": [NOT_INTEGER]}),
    ("boolean-for-integer", {"gad7_1": True}, {"gad7_1": [NOT_INTEGER]}),
    ("string-for-boolean", {"cssrs_1": "no"}, {"cssrs_1": [NOT_BOOLEAN]}),
    ("bad-date", {"date_of_birth": "17/05/1984"}, {"date_of_birth": [NOT_DATE]}),
    ("dose-missing", {"medications": ["benzodiazepine"]}, {"benzodiazepine_diazepam_mg": [REQUIRED]}),
    ("unknown-medication", {"medications": ["ketamine-sentinel"]}, {"medications": ["Contains a choice that is not offered."]}),
    (
        "several-at-once",
        {"phq9_1": 9, "cssrs_2": None, "cssrs_4": True},
        {"phq9_1": ["Must be between 0 and 3."], "cssrs_2": [REQUIRED]},
    ),
]


@pytest.mark.parametrize("changes, errors", [case[1:] for case in INVALID_ANSWERS], ids=[case[0] for case in INVALID_ANSWERS])
def test_invalid_answers_get_an_error_per_item_and_nothing_is_stored(submit, eligibility, helpers, answers, changes, errors):
    changed = {key: value for key, value in (answers | changes).items() if value is not None}

    response = submit(changed)

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert response.json["errors"] == errors
    assert "sentinel" not in response.get_data(as_text=True), "an error must not repeat the submitted value"
    _assert_nothing_stored(eligibility, helpers)


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"patient": {"name": "Pat", "email": "pat@example.org"}, "answers": {}, "consent": True}, {"consent": ["Unknown field."]}),
        ({"patient": {"name": "Pat", "email": "not-an-email"}, "answers": {}}, {"patient": {"email": ["Not a valid email address."]}}),
        ({"patient": {"name": "Pat", "email": "pat@example.org", "dob": "x"}, "answers": {}}, {"patient": {"dob": ["Unknown field."]}}),
        ({"patient": {"name": "", "email": "pat@example.org"}, "answers": {}}, {"patient": {"name": ["Length must be between 1 and 200."]}}),
        ({"patient": {"name": "Pat", "email": "pat@example.org"}, "answers": [1, 2]}, {"answers": ["Not a valid mapping type."]}),
        ({"answers": {}}, {"patient": ["Missing data for required field."]}),
    ],
    ids=["unknown-field", "bad-email", "unknown-patient-field", "empty-name", "answers-not-an-object", "no-patient"],
)
def test_malformed_requests_are_422_and_store_nothing(client, eligibility, helpers, body, errors):
    response = client.post("/api/eligibility/v1/screenings", json=body)

    assert response.status_code == 422
    assert response.json["errors"] == errors
    _assert_nothing_stored(eligibility, helpers)


def test_a_body_that_is_not_json_is_refused(client, eligibility, helpers):
    response = client.post("/api/eligibility/v1/screenings", data="phq9_1=3", content_type="application/json")

    assert response.status_code in (400, 422)
    assert response.json["code"] in ("bad_request", "validation_error")
    _assert_nothing_stored(eligibility, helpers)


def _assert_nothing_stored(eligibility, helpers) -> None:
    assert helpers.table_rows(eligibility, screenings) == []
    assert helpers.table_rows(eligibility, eligibility.runtime.tables["outbox"]) == []


def _service_headers(eligibility) -> dict[str, Any]:
    return {"Authorization": f"Bearer {eligibility.config.service_token}"}
