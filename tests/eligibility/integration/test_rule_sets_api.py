"""Rule sets: the packaged default seeded, new versions published by clinicians, each decision recording its version."""
from __future__ import annotations

import copy
import threading

import pytest
from sqlalchemy import delete

from kapbook_eligibility.adapters.tables import rule_sets
from kapbook_eligibility.entrypoints.app import create_app

pytestmark = pytest.mark.integration

RULE_SETS = "/api/eligibility/v1/rule-sets"
DEFAULT_VERSION = "default-2026-11-1"
STRICTER = {
    "version": "2026-12-stricter-bp",
    "settings": {
        "minimum_age": 21,
        "bp_systolic_review_at": 130,
        "bp_diastolic_review_at": 85,
        "benzodiazepine_review_mg": 5.5,
        "screening_valid_days": 30,
        "treatment_resistant_min_trials": 3,
    },
}


def with_settings(**changes) -> dict:
    body = copy.deepcopy(STRICTER)
    body["settings"] |= changes
    return body


def test_migrate_seeds_the_packaged_default(client, clinician):
    response = client.get(RULE_SETS, headers=clinician.headers)

    assert response.status_code == 200
    (default,) = response.json
    assert default["version"] == DEFAULT_VERSION and default["active"] is True
    assert default["settings"]["bp_systolic_review_at"] == 140


def test_the_default_is_seeded_on_first_use_too(make_container, answers):
    container = make_container()
    container.migrate()
    with container.runtime.sessions.begin() as session:
        session.execute(delete(rule_sets))
    client = create_app(container).test_client()

    response = client.post("/api/eligibility/v1/screenings", json={"patient": {"name": "P", "email": "p@example.org"}, "answers": answers})

    assert response.status_code == 201 and response.json["ruleset_version"] == DEFAULT_VERSION


def test_a_published_version_decides_from_then_on_and_each_decision_records_its_version(client, submit, answers, clinician):
    reading = answers | {"bp_systolic": 135, "bp_diastolic": 80, "date_of_birth": "2006-01-10"}  # 20 years old
    before = submit(reading).json

    published = client.post(RULE_SETS, json=STRICTER, headers=clinician.headers)
    after = submit(reading).json

    assert published.status_code == 201, published.json
    assert published.json["active"] is True and published.json["created_by"] == "Dr Rowan Ash"
    assert (before["outcome"], before["ruleset_version"]) == ("eligible", DEFAULT_VERSION)
    assert (after["outcome"], after["ruleset_version"]) == ("ineligible", STRICTER["version"])
    assert [reason["code"] for reason in after["reasons"]] == ["under_minimum_age", "blood_pressure_high"]
    assert "130/85" in after["reasons"][1]["message"]
    assert after["valid_until"] == "2026-12-20T23:59:59+00:00"  # 30 days
    assert after["treatment_resistant"] is False  # 2 trials, 3 needed now
    versions = client.get(RULE_SETS, headers=clinician.headers).json
    assert [(entry["version"], entry["active"]) for entry in versions] == [(STRICTER["version"], True), (DEFAULT_VERSION, False)]


def test_publishing_is_audited(client, eligibility, clinician):
    client.post(RULE_SETS, json=STRICTER, headers=clinician.headers)

    table = eligibility.runtime.tables["audit_log"]
    with eligibility.runtime.engine.connect() as connection:
        (row,) = connection.execute(table.select()).mappings()
    assert (row["actor"], row["action"], row["target"]) == (clinician.staff_id, "rule_set.published", f"rule_set:{STRICTER['version']}")


def test_a_version_is_never_reused(client, clinician):
    assert client.post(RULE_SETS, json=STRICTER, headers=clinician.headers).status_code == 201

    again = client.post(RULE_SETS, json=with_settings(minimum_age=25), headers=clinician.headers)

    assert again.status_code == 409 and again.json["code"] == "rule_set_version_taken"
    default = client.post(RULE_SETS, json=with_settings() | {"version": DEFAULT_VERSION}, headers=clinician.headers)
    assert default.status_code == 409


@pytest.mark.parametrize(
    "body, error_key",
    [
        (with_settings(minimum_age="21"), "settings"),
        (with_settings(minimum_age=21.0), "settings"),
        (with_settings(bp_systolic_review_at=True), "settings"),
        (with_settings(benzodiazepine_review_mg="8"), "settings"),
        (with_settings(benzodiazepine_review_mg=False), "settings"),
        (with_settings(screening_valid_days=None), "settings"),
        (with_settings(surprise=1), "settings"),
        ({"version": "x", "settings": {}}, "settings"),
        (with_settings() | {"active": False}, "active"),
        ({"settings": STRICTER["settings"]}, "version"),
        # Types are right; the domain's ranges say no.
        (with_settings(minimum_age=16), "_schema"),
        (with_settings(bp_systolic_review_at=400), "_schema"),
        (with_settings(bp_diastolic_review_at=135, bp_systolic_review_at=130), "_schema"),
        (with_settings() | {"version": "has spaces"}, "_schema"),
    ],
    ids=[
        "string-int", "float-int", "bool-int", "string-number", "bool-number", "null", "unknown-setting",
        "missing-settings", "unknown-field", "missing-version", "age-below-18", "bp-out-of-range",
        "diastolic-above-systolic", "bad-version",
    ],
)
def test_invalid_rule_sets_are_422_and_change_nothing(client, clinician, body, error_key):
    response = client.post(RULE_SETS, json=body, headers=clinician.headers)

    assert response.status_code == 422, response.json
    assert error_key in response.json["errors"]
    versions = client.get(RULE_SETS, headers=clinician.headers).json
    assert [(entry["version"], entry["active"]) for entry in versions] == [(DEFAULT_VERSION, True)]


def test_concurrent_publications_leave_exactly_one_rule_set_in_force(client, eligibility, clinician, make_staff):
    authors = [clinician, make_staff("admin"), make_staff("clinician"), make_staff("admin")]
    app = client.application
    barrier = threading.Barrier(len(authors))
    statuses: list[int] = []

    def publish(index: int, author) -> None:
        with app.test_client() as own_client:
            barrier.wait()
            body = with_settings(minimum_age=20 + index) | {"version": f"race-{index}"}
            statuses.append(own_client.post(RULE_SETS, json=body, headers=author.headers).status_code)

    threads = [threading.Thread(target=publish, args=(index, author)) for index, author in enumerate(authors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Each either won in turn (201) or lost a race and was told to retry (409); never two in force.
    assert len(statuses) == len(authors) and set(statuses) <= {201, 409} and 201 in statuses
    versions = client.get(RULE_SETS, headers=clinician.headers).json
    assert sum(entry["active"] for entry in versions) == 1
    assert len(versions) == 1 + statuses.count(201)
