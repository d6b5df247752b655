"""Clinician review: the queue, opening a screening (audited), deciding once, and what the booking service sees."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from kapbook_eligibility.adapters.tables import reviews, screenings
from kapbook_platform.contracts import EventType

pytestmark = pytest.mark.integration

SCREENINGS = "/api/eligibility/v1/screenings"
REVIEWS = "/api/eligibility/v1/reviews"
DECISIONS = "/api/eligibility/v1/decisions"
NOTE = "Spoke with the patient by phone; safety plan agreed with the on-call psychiatrist."
REVIEWED_KEYS = {"screening_id", "patient_email", "decision", "reviewed_at", "valid_until"}


@pytest.fixture
def needs_review(submit, answers) -> str:
    return submit(answers | {"bipolar_history": True}, email="robin@example.org").json["id"]


@pytest.fixture
def crisis(submit, answers, helpers) -> str:
    return submit(answers | helpers.crisis_changes, email="sam@example.org").json["id"]


def audit_rows(eligibility) -> list[dict]:
    table = eligibility.runtime.tables["audit_log"]
    with eligibility.runtime.engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table).order_by(table.c.id)).mappings()]


def service_headers(eligibility) -> dict[str, str]:
    return {"Authorization": f"Bearer {eligibility.config.service_token}"}


def test_the_queue_lists_crises_first_then_screenings_needing_review(client, submit, answers, helpers, clinician):
    first_review = submit(answers | {"cardiac_disease": True}).json["id"]
    submit(answers)  # eligible: no review
    submit(answers | {"pregnant": True})  # ineligible: no review
    crisis = submit(answers | helpers.crisis_changes).json["id"]
    second_review = submit(answers | {"liver_disease": True}).json["id"]

    response = client.get(f"{REVIEWS}?status=pending", headers=clinician.headers)

    assert response.status_code == 200
    assert [entry["id"] for entry in response.json] == [crisis, first_review, second_review]
    assert response.json[0]["outcome"] == "crisis" and response.json[0]["reason_codes"] == ["cssrs_high_risk"]
    # The list shows who and why, never answers or scores (those are opened one by one, audited).
    assert set(response.json[0]) == {"id", "patient", "outcome", "reason_codes", "status", "submitted_at", "valid_until"}
    assert client.get(REVIEWS, headers=clinician.headers).json == response.json  # pending is the default


def test_unknown_queue_status_or_parameter_is_422(client, clinician):
    assert client.get(f"{REVIEWS}?status=everything", headers=clinician.headers).status_code == 422
    assert client.get(f"{REVIEWS}?status=pending&page=2", headers=clinician.headers).status_code == 422


def test_opening_a_screening_shows_answers_and_scores_and_is_audited(client, eligibility, submit, answers, clinician):
    submitted = answers | {"bipolar_history": True, "bp_systolic": 128, "bp_diastolic": 82}
    screening_id = submit(submitted).json["id"]

    response = client.get(f"{SCREENINGS}/{screening_id}", headers=clinician.headers)

    assert response.status_code == 200
    body = response.json
    assert body["answers"] == submitted
    assert body["scores"]["phq9"] == {"total": 8, "band": "mild", "item9": 0}
    assert [reason["code"] for reason in body["reasons"]] == ["bipolar_history"]
    assert body["status"] == "pending_review" and body["review"] is None
    assert response.headers["Cache-Control"] == "no-store"
    (audit,) = audit_rows(eligibility)
    assert (audit["actor"], audit["action"], audit["target"]) == (clinician.staff_id, "screening.opened", f"screening:{screening_id}")
    assert audit["detail"]["staff_name"] == "Dr Rowan Ash"
    assert audit["at"] is not None

    client.get(f"{SCREENINGS}/{screening_id}", headers=clinician.headers)
    assert [row["action"] for row in audit_rows(eligibility)] == ["screening.opened", "screening.opened"]


def test_opening_an_unknown_screening_is_404_and_not_audited(client, eligibility, clinician):
    assert client.get(f"{SCREENINGS}/no-such-screening", headers=clinician.headers).status_code == 404
    assert audit_rows(eligibility) == []


def test_approving_publishes_the_decision_and_closes_the_review(client, eligibility, helpers, crisis, clinician):
    response = client.post(f"{SCREENINGS}/{crisis}/review", json={"decision": "approved", "note": NOTE}, headers=clinician.headers)

    assert response.status_code == 201, response.json
    assert response.json["decision"] == "approved" and response.json["reviewer_name"] == "Dr Rowan Ash"
    reviewed = helpers.outbox_events(eligibility)[-1]
    assert reviewed["type"] == EventType.SCREENING_REVIEWED
    assert set(reviewed["data"]) == REVIEWED_KEYS
    assert reviewed["data"]["decision"] == "approved" and reviewed["data"]["patient_email"] == "sam@example.org"
    assert NOTE not in str(reviewed)
    assert client.get(REVIEWS, headers=clinician.headers).json == []
    (done,) = client.get(f"{REVIEWS}?status=reviewed", headers=clinician.headers).json
    assert done["id"] == crisis and done["review"]["decision"] == "approved"
    opened = client.get(f"{SCREENINGS}/{crisis}", headers=clinician.headers).json
    assert opened["review"]["note"] == NOTE and opened["status"] == "reviewed"
    assert [row["action"] for row in audit_rows(eligibility)] == [
        "screening.reviewed", "review_queue.viewed", "review_queue.viewed", "screening.opened"]


def test_the_note_is_encrypted_at_rest(client, eligibility, helpers, needs_review, clinician):
    client.post(f"{SCREENINGS}/{needs_review}/review", json={"decision": "declined", "note": NOTE}, headers=clinician.headers)

    (row,) = helpers.table_rows(eligibility, reviews)
    assert row["decision"] == "declined"
    assert b"safety plan" not in bytes(row["note_encrypted"])
    assert NOTE not in str(row)


def test_reviewing_twice_is_409_and_publishes_once(client, eligibility, helpers, needs_review, clinician, make_staff):
    other = make_staff("admin", "Dr Kim Lee")
    url = f"{SCREENINGS}/{needs_review}/review"
    assert client.post(url, json={"decision": "approved", "note": "ok"}, headers=clinician.headers).status_code == 201

    again = client.post(url, json={"decision": "declined", "note": "no"}, headers=other.headers)

    assert again.status_code == 409 and again.json["code"] == "already_reviewed"
    types = [event["type"] for event in helpers.outbox_events(eligibility)]
    assert types.count(EventType.SCREENING_REVIEWED) == 1
    assert [row["decision"] for row in helpers.table_rows(eligibility, reviews)] == ["approved"]


def test_concurrent_reviews_decide_exactly_once(client, eligibility, helpers, needs_review, clinician, make_staff):
    reviewers = [clinician, make_staff("clinician", "Dr Two"), make_staff("admin", "Dr Three")]
    app = client.application
    statuses: list[int] = []
    barrier = threading.Barrier(len(reviewers))

    def review(staff) -> None:
        with app.test_client() as own_client:
            barrier.wait()
            response = own_client.post(
                f"{SCREENINGS}/{needs_review}/review", json={"decision": "approved", "note": "n"}, headers=staff.headers
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=review, args=(staff,)) for staff in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [201, 409, 409]
    assert len(helpers.table_rows(eligibility, reviews)) == 1


@pytest.mark.parametrize("changes", [{}, {"pregnant": True}], ids=["eligible", "ineligible"])
def test_screenings_decided_without_review_cannot_be_reviewed(client, submit, answers, clinician, changes):
    screening_id = submit(answers | changes).json["id"]

    response = client.post(f"{SCREENINGS}/{screening_id}/review", json={"decision": "approved", "note": "x"}, headers=clinician.headers)

    assert response.status_code == 409 and response.json["code"] == "review_not_needed"


def test_reviewing_an_unknown_screening_is_404(client, clinician):
    response = client.post(f"{SCREENINGS}/nope/review", json={"decision": "approved", "note": "x"}, headers=clinician.headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"decision": "maybe", "note": "x"}, "decision"),
        ({"decision": "approved"}, "note"),
        ({"decision": "approved", "note": ""}, "note"),
        ({"decision": "approved", "note": "x", "score_override": 1}, "score_override"),
    ],
)
def test_invalid_review_requests_are_422_and_change_nothing(client, eligibility, helpers, needs_review, clinician, body, field):
    response = client.post(f"{SCREENINGS}/{needs_review}/review", json=body, headers=clinician.headers)

    assert response.status_code == 422 and field in response.json["errors"]
    assert helpers.table_rows(eligibility, reviews) == []
    assert [row["status"] for row in helpers.table_rows(eligibility, screenings)] == ["pending_review"]


# --- the decision lookup the booking service calls ----------------------------------------------


def test_lookup_reports_a_crisis_as_blocked_until_a_clinician_approves(client, eligibility, crisis, clinician):
    before = client.get(f"{DECISIONS}/{crisis}", headers=service_headers(eligibility))
    assert before.status_code == 200
    assert before.json["outcome"] == "crisis" and before.json["clinician_decision"] is None
    assert before.json["patient_email"] == "sam@example.org"

    client.post(f"{SCREENINGS}/{crisis}/review", json={"decision": "approved", "note": NOTE}, headers=clinician.headers)
    after = client.get(f"{DECISIONS}/{crisis}", headers=service_headers(eligibility))

    assert after.json["clinician_decision"] == "approved"
    assert after.json["decided_at"] == before.json["decided_at"]
    assert after.json["valid_until"] == before.json["valid_until"]
    assert set(after.json) == {"screening_id", "patient_email", "outcome", "clinician_decision", "decided_at", "valid_until"}


def test_lookup_of_an_eligible_screening(client, eligibility, submit, answers):
    screening_id = submit(answers).json["id"]

    body = client.get(f"{DECISIONS}/{screening_id}", headers=service_headers(eligibility)).json

    assert body["outcome"] == "eligible" and body["clinician_decision"] is None
    assert body["valid_until"] == "2027-02-18T23:59:59+00:00"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dev-only-service-token"])
def test_lookup_without_the_service_credential_is_401(client, needs_review, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get(f"{DECISIONS}/{needs_review}", headers=headers)

    assert response.status_code == 401 and response.json["code"] == "unauthorized"
    assert "robin@example.org" not in response.get_data(as_text=True)


def test_a_staff_token_is_not_a_service_credential(client, needs_review, make_staff):
    assert client.get(f"{DECISIONS}/{needs_review}", headers=make_staff("admin").headers).status_code == 401


def test_lookup_of_an_unknown_screening_is_404(client, eligibility):
    assert client.get(f"{DECISIONS}/unknown", headers=service_headers(eligibility)).status_code == 404
