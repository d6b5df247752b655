"""Who may do what: 401 without a valid staff token, 403 for the wrong role, and tokens arriving as events."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_platform.staff.signing import DEVELOPMENT_SIGNING_KEY, new_key_pair, sign_credential_data
from kapbook_platform.staff.tokens import new_staff_token, token_digest

pytestmark = pytest.mark.integration

RULE_SET = {
    "version": "access-test",
    "settings": {
        "minimum_age": 21,
        "bp_systolic_review_at": 140,
        "bp_diastolic_review_at": 90,
        "benzodiazepine_review_mg": 8,
        "screening_valid_days": 60,
        "treatment_resistant_min_trials": 2,
    },
}


def staff_routes(screening_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "/api/eligibility/v1/reviews?status=pending", None),
        ("GET", f"/api/eligibility/v1/screenings/{screening_id}", None),
        ("POST", f"/api/eligibility/v1/screenings/{screening_id}/review", {"decision": "approved", "note": "ok"}),
        ("GET", "/api/eligibility/v1/rule-sets", None),
        ("POST", "/api/eligibility/v1/rule-sets", RULE_SET),
    ]


@pytest.fixture
def screening_id(submit, answers) -> str:
    return submit(answers | {"substance_use_disorder": True}).json["id"]


def call(client, method: str, url: str, body: dict | None, headers: dict):
    return client.open(url, method=method, json=body, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer kbs_not-a-real-token"}, {"Authorization": "Token abc"}],
    ids=["no-token", "unknown-token", "wrong-scheme"],
)
def test_every_staff_route_is_401_without_a_valid_token(client, eligibility, screening_id, headers):
    for method, url, body in staff_routes(screening_id):
        response = call(client, method, url, body, headers)
        assert response.status_code == 401, (method, url)
        assert response.json["code"] == "unauthorized"
        assert "Bearer" in response.headers["WWW-Authenticate"]
    assert _audit_count(eligibility) == 0


def test_front_desk_is_403_on_answers_reviews_and_rule_sets(client, eligibility, screening_id, make_staff):
    front_desk = make_staff("front_desk")

    for method, url, body in staff_routes(screening_id):
        response = call(client, method, url, body, front_desk.headers)
        assert response.status_code == 403, (method, url)
        assert "answers" not in response.json
    assert _audit_count(eligibility) == 0


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_clinicians_and_admins_may_do_everything(client, screening_id, make_staff, role):
    staff = make_staff(role)
    expected = [200, 200, 201, 200, 201]

    statuses = [call(client, method, url, body, staff.headers).status_code for method, url, body in staff_routes(screening_id)]

    assert statuses == expected


def test_a_revoked_token_is_401(client, eligibility, screening_id, clinician):
    table = eligibility.runtime.tables["staff_credentials"]
    with eligibility.runtime.sessions.begin() as session:
        session.execute(update(table).values(revoked_at=datetime.now(timezone.utc)))

    response = client.get(f"/api/eligibility/v1/screenings/{screening_id}", headers=clinician.headers)

    assert response.status_code == 401


def _issued(token: str, role: str) -> dict:
    return {"credential_id": str(uuid.uuid4()), "staff_id": str(uuid.uuid4()), "staff_name": "Dr Event", "role": role,
            "token_sha256": token_digest(token), "issued_at": datetime.now(timezone.utc).isoformat()}


def test_a_token_issued_by_the_booking_service_arrives_through_the_consumer_and_a_forged_one_does_not(
        client, eligibility, broker, helpers, screening_id):
    """Finding 7: a credential event is only believed with the booking service's signature."""
    token, forged_token, wrongly_signed = new_staff_token(), new_staff_token(), new_staff_token()
    other_key, _ = new_key_pair()
    events = [
        make_envelope(EventType.STAFF_CREDENTIAL_ISSUED, "/kapbook/booking", _issued(forged_token, "admin")),
        make_envelope(EventType.STAFF_CREDENTIAL_ISSUED, "/kapbook/booking",
                      sign_credential_data(other_key, _issued(wrongly_signed, "admin"))),
        make_envelope(EventType.STAFF_CREDENTIAL_ISSUED, "/kapbook/booking",
                      sign_credential_data(DEVELOPMENT_SIGNING_KEY, _issued(token, "clinician"))),
    ]
    runtime = eligibility.runtime
    with runtime.broker_connection() as connection:
        runtime.topology.declare(connection)
        producer = connection.Producer(serializer="json")
        for event in events:
            producer.publish(event.to_json_dict(), exchange=runtime.topology.events_exchange, routing_key=event.routing_key)
    consumer = runtime.consumer(eligibility.handlers)
    worker = threading.Thread(target=consumer.run, daemon=True)
    worker.start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        helpers.wait_for(lambda: client.get(f"/api/eligibility/v1/screenings/{screening_id}", headers=headers).status_code == 200)
        for refused in (forged_token, wrongly_signed):  # published before the genuine one, so handled already
            answer = client.get(f"/api/eligibility/v1/screenings/{screening_id}", headers={"Authorization": f"Bearer {refused}"})
            assert answer.status_code == 401
    finally:
        consumer.should_stop = True
        worker.join(timeout=10)


def _audit_count(eligibility) -> int:
    table = eligibility.runtime.tables["audit_log"]
    with eligibility.runtime.engine.connect() as connection:
        return len(connection.execute(table.select()).all())


def test_a_scoped_token_arrives_through_the_consumer_and_reviews_need_the_reviews_scope(
        client, eligibility, broker, helpers, screening_id):
    """The signed issued event carries the token's scopes; a read_only token reads no answers."""
    reviewer, reader = new_staff_token(), new_staff_token()
    events = [make_envelope(EventType.STAFF_CREDENTIAL_ISSUED, "/kapbook/booking",
                            sign_credential_data(DEVELOPMENT_SIGNING_KEY, _issued(token, "clinician") | {"scopes": scopes}))
              for token, scopes in ((reader, ["read_only", "bookings"]), (reviewer, ["reviews"]))]
    runtime = eligibility.runtime
    with runtime.broker_connection() as connection:
        runtime.topology.declare(connection)
        producer = connection.Producer(serializer="json")
        for event in events:
            producer.publish(event.to_json_dict(), exchange=runtime.topology.events_exchange, routing_key=event.routing_key)
    consumer = runtime.consumer(eligibility.handlers)
    worker = threading.Thread(target=consumer.run, daemon=True)
    worker.start()
    url = f"/api/eligibility/v1/screenings/{screening_id}"
    try:
        helpers.wait_for(lambda: client.get(url, headers={"Authorization": f"Bearer {reviewer}"}).status_code == 200)
        refused = client.get(url, headers={"Authorization": f"Bearer {reader}"})  # published first: handled already
        assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"
        assert refused.json["errors"] == {"scope": ["reviews"]}
    finally:
        consumer.should_stop = True
        worker.join(timeout=10)
