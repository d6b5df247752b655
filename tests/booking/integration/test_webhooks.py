"""Webhooks end to end: a real receiver verifying with ``standardwebhooks``, on SQLite and PostgreSQL.

Events come from real bookings over HTTP; the dispatcher sends what is due and the test moves
the service's clock to make retries due (the webhook-timestamp header stays the real time,
which the receiver's library checks against its own clock).
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.contracts import make_envelope
from kapbook_platform.contracts.events import EventType
from support.clinic import ClinicBuilder, issue_test_staff_token, new_id, patient
from support.clock import TravellingClock
from support.webhook_receiver import WebhookReceiver, free_port, localhost_tls

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
PHONE = "+1 555 0100 777"


@pytest.fixture
def clock():
    return TravellingClock()


@pytest.fixture
def config_overrides():
    return {}


@pytest.fixture
def service(tmp_path, db, database_factory, clock, config_overrides):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           eligibility_url="http://127.0.0.1:1", **config_overrides)
    container = bootstrap(config, clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.consult = clinic.appointment_type("consult", 30)
    clinic.dr_a = clinic.clinician("Dr A", [clinic.consult])
    return clinic


@pytest.fixture
def client(service):
    return create_app(service).test_client()


@pytest.fixture
def admin(service):
    return {"Authorization": f"Bearer {issue_test_staff_token(service.runtime.sessions, 'admin')}"}


@pytest.fixture
def receiver():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def register(client, admin, url, events=("booking.created", "booking.rescheduled", "booking.cancelled")):
    response = client.post(f"{API}/webhooks", json={"url": url, "event_types": list(events), "description": "EHR"}, headers=admin)
    assert response.status_code == 201, response.json
    return response.json


def book(client, clinic, hour=10, days=3):
    body = {"appointment_type": "consult", "start": clinic.local(days, hour).isoformat(),
            "patient": patient() | {"phone": PHONE}}
    response = client.post(f"{API}/bookings", json=body)
    assert response.status_code == 201, response.json
    return response.json


def deliveries(client, admin, endpoint_id):
    response = client.get(f"{API}/webhooks/{endpoint_id}/deliveries", headers=admin)
    assert response.status_code == 200
    return response.json


def test_a_registered_endpoint_gets_each_booking_event_signed_and_without_patient_details(client, admin, clinic, service, receiver):
    endpoint = register(client, admin, receiver.url)
    receiver.secrets = [endpoint["secret"]]
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in client.get(f"{API}/webhooks/{endpoint['id']}", headers=admin).json

    booking = book(client, clinic)
    token = booking["manage_url"].rsplit("/", 1)[1]
    assert client.post(f"/api/booking/v1/manage/{token}/cancel").status_code in {200, 204}
    assert service.webhook_dispatcher.deliver_due() == 2

    assert [r.verified for r in receiver.requests] == [True, True]
    payloads = list(receiver.processed.values())
    # Standard Webhooks promises no order between messages; each event arrives once.
    assert sorted(p["type"] for p in payloads) == ["booking.cancelled", "booking.created"]
    assert {p["data"]["booking_id"] for p in payloads} == {booking["id"]}
    for request in receiver.requests:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)  # raises if it does not verify
        for detail in (patient()["name"], patient()["email"], PHONE, "Pat", "example.org"):
            assert detail not in request.body
    log = deliveries(client, admin, endpoint["id"])
    assert {d["status"] for d in log} == {"succeeded"}
    assert all(d["attempt_log"][0]["status_code"] == 200 for d in log)


def test_a_receiver_down_then_up_gets_each_event_once_with_the_same_webhook_id(client, admin, clinic, service, clock):
    port = free_port()
    receiver = WebhookReceiver(port=port)
    endpoint = register(client, admin, receiver.url)
    receiver.secrets = [endpoint["secret"]]
    book(client, clinic, hour=10)
    book(client, clinic, hour=12)

    assert service.webhook_dispatcher.deliver_due() == 2  # nobody listens: connection refused
    first = deliveries(client, admin, endpoint["id"])
    assert {d["status"] for d in first} == {"pending"} and all(d["attempts"] == 1 for d in first)
    assert all(d["attempt_log"][0]["status_code"] is None and d["last_error"] for d in first)

    receiver.start()
    try:
        receiver.answer = 503  # up, but failing: the next attempt is recorded with its status code
        clock.advance(seconds=6)
        assert service.webhook_dispatcher.deliver_due() == 2
        assert service.webhook_dispatcher.deliver_due() == 0  # nothing due before the next backoff step
        receiver.answer = 200
        clock.advance(minutes=5, seconds=1)
        assert service.webhook_dispatcher.deliver_due() == 2
        clock.advance(hours=30)
        assert service.webhook_dispatcher.deliver_due() == 0  # delivered ones are not sent again
    finally:
        receiver.stop()

    ids = {d["id"] for d in first}
    assert {r.headers["webhook-id"] for r in receiver.requests} == ids
    assert len(receiver.requests) == 4 and set(receiver.processed) == ids
    log = deliveries(client, admin, endpoint["id"])
    assert {d["status"] for d in log} == {"succeeded"}
    assert [[a["status_code"] for a in d["attempt_log"]] for d in log] == [[None, 503, 200]] * 2


def test_replay_sends_the_same_webhook_id_again_and_the_receiver_deduplicates(client, admin, clinic, service, receiver):
    endpoint = register(client, admin, receiver.url)
    receiver.secrets = [endpoint["secret"]]
    book(client, clinic)
    service.webhook_dispatcher.deliver_due()
    (delivery,) = deliveries(client, admin, endpoint["id"])

    replayed = client.post(f"{API}/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/replay", headers=admin)
    assert replayed.status_code == 200 and replayed.json["status"] == "pending"
    assert service.webhook_dispatcher.deliver_due() == 1

    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery["id"]] * 2
    assert all(r.verified for r in receiver.requests) and len(receiver.processed) == 1
    (after,) = deliveries(client, admin, endpoint["id"])
    assert after["status"] == "succeeded" and len(after["attempt_log"]) == 2
    missing = client.post(f"{API}/webhooks/{endpoint['id']}/deliveries/msg_nope/replay", headers=admin)
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_after_rotation_both_secrets_verify_until_the_grace_period_ends(client, admin, clinic, service, receiver, clock):
    endpoint = register(client, admin, receiver.url)
    rotated = client.post(f"{API}/webhooks/{endpoint['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200 and rotated.json["secret"] != endpoint["secret"]
    old, new = endpoint["secret"], rotated.json["secret"]
    receiver.secrets = [new]

    book(client, clinic, hour=10)
    service.webhook_dispatcher.deliver_due()
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(during.body, during.headers)
    Webhook(new).verify(during.body, during.headers)

    clock.advance(hours=25)
    book(client, clinic, hour=12)
    service.webhook_dispatcher.deliver_due()
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(after.body, after.headers)


@pytest.mark.parametrize("config_overrides", [{"webhook_disable_after": 2}])
def test_an_endpoint_failing_every_attempt_of_n_deliveries_is_disabled_and_admins_are_emailed(
    client, admin, clinic, service, receiver, clock,
):
    with service.runtime.sessions.begin() as session:
        session.execute(t.staff_members.insert().values(id=new_id(), name="Ada Admin", email="ada@clinic.example",
                                                        role="admin", created_at=clock.now))
    endpoint = register(client, admin, receiver.url)
    receiver.secrets = [endpoint["secret"]]
    receiver.answer = 500
    book(client, clinic, hour=10)
    book(client, clinic, hour=12)
    for _ in range(12):  # more than the 8 attempts of the schedule
        service.webhook_dispatcher.deliver_due()
        clock.advance(hours=11)

    log = deliveries(client, admin, endpoint["id"])
    assert {d["status"] for d in log} == {"failed"} and {d["attempts"] for d in log} == {8}
    state = client.get(f"{API}/webhooks/{endpoint['id']}", headers=admin).json
    assert state["active"] is False and "2 deliveries" in state["disabled_reason"]
    outbox = service.runtime.tables["outbox"]
    with service.runtime.engine.connect() as connection:
        alerts = [row.envelope for row in connection.execute(select(outbox.c.envelope).where(
            outbox.c.type == EventType.WEBHOOK_ENDPOINT_DISABLED))]
    assert len(alerts) == 1
    assert alerts[0]["data"]["recipients"] == ["ada@clinic.example"]
    assert alerts[0]["data"]["endpoint_id"] == endpoint["id"]

    book(client, clinic, hour=14, days=10)  # a disabled endpoint gets no new deliveries (the clock moved 5.5 days)
    assert len(deliveries(client, admin, endpoint["id"])) == 2
    enabled = client.patch(f"{API}/webhooks/{endpoint['id']}", json={"active": True}, headers=admin)
    assert enabled.status_code == 200 and enabled.json["failed_deliveries_in_row"] == 0


def test_a_consumed_screening_decision_is_delivered_without_the_outcome_or_email(client, admin, service, receiver):
    endpoint = register(client, admin, receiver.url, events=("screening.decided",))
    receiver.secrets = [endpoint["secret"]]
    envelope = make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
        "screening_id": "scr-1", "patient_email": "pat@example.org", "outcome": "crisis", "ruleset_version": "1",
        "decided_at": "2026-12-01T10:00:00+00:00", "valid_until": "2027-03-01T10:00:00+00:00",
    })
    with service.runtime.sessions.begin() as session:
        service.handlers[EventType.SCREENING_DECIDED](session, envelope)
    service.webhook_dispatcher.deliver_due()

    (payload,) = receiver.processed.values()
    assert payload == {"type": "screening.decided", "timestamp": envelope.time.isoformat(),
                       "data": {"screening_id": "scr-1", "decided_at": "2026-12-01T10:00:00+00:00"}}
    assert "crisis" not in receiver.requests[0].body and "pat@example.org" not in receiver.requests[0].body


def test_only_admins_manage_webhooks_and_bad_input_is_422(client, admin, service):
    front_desk = {"Authorization": f"Bearer {issue_test_staff_token(service.runtime.sessions, 'front_desk')}"}
    assert client.get(f"{API}/webhooks", headers=front_desk).status_code == 403
    assert client.get(f"{API}/webhooks").status_code == 401
    bad = client.post(f"{API}/webhooks", json={"url": "https://hooks.example/x", "event_types": ["booking.deleted"]}, headers=admin)
    assert bad.status_code == 422 and "event_types" in bad.json["errors"]
    for url in ("ftp://hooks.example/x", "not a url", "https://user:pw@hooks.example/x"):
        refused = client.post(f"{API}/webhooks", json={"url": url, "event_types": ["booking.created"]}, headers=admin)
        assert refused.status_code == 422 and "url" in refused.json["errors"], url
    assert client.delete(f"{API}/webhooks/nope", headers=admin).status_code == 404


def test_writes_are_audited(client, admin, service, receiver):
    endpoint = register(client, admin, receiver.url)
    client.patch(f"{API}/webhooks/{endpoint['id']}", json={"description": "EHR bridge"}, headers=admin)
    client.post(f"{API}/webhooks/{endpoint['id']}/rotate-secret", headers=admin)
    assert client.delete(f"{API}/webhooks/{endpoint['id']}", headers=admin).status_code == 204
    audit = service.runtime.tables["audit_log"]
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(select(audit.c.action, audit.c.detail).where(audit.c.target == f"webhook:{endpoint['id']}")).all()
    actions = [row.action for row in rows]
    assert actions[0] == "webhook.created" and "webhook.secret_rotated" in actions and actions[-1] == "webhook.deleted"
    assert endpoint["secret"] not in json.dumps([row.detail for row in rows])
    assert client.get(f"{API}/webhooks", headers=admin).json == []


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(client, admin, clinic, service, receiver):
    elsewhere = WebhookReceiver().start()
    try:
        endpoint = register(client, admin, receiver.url)
        receiver.secrets = elsewhere.secrets = [endpoint["secret"]]
        receiver.answer, receiver.location = 307, elsewhere.url
        book(client, clinic)
        service.webhook_dispatcher.deliver_due()
    finally:
        elsewhere.stop()
    assert elsewhere.requests == [] and len(receiver.requests) == 1
    (delivery,) = deliveries(client, admin, endpoint["id"])
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 307


@pytest.mark.parametrize("config_overrides", [{"webhook_timeout": 0.5}])
def test_a_slow_receiver_times_out_and_a_huge_answer_is_not_read_to_the_end(client, admin, clinic, service, receiver, clock):
    endpoint = register(client, admin, receiver.url)
    receiver.secrets = [endpoint["secret"]]
    receiver.delay = 2.0
    book(client, clinic)
    service.webhook_dispatcher.deliver_due()
    (slow,) = deliveries(client, admin, endpoint["id"])
    assert slow["status"] == "pending" and slow["last_status_code"] is None and "Timeout" in slow["last_error"]
    assert slow["attempt_log"][0]["duration_ms"] < 1900

    receiver.delay, receiver.answer_bytes = 0.0, 50 * 1024 * 1024
    clock.advance(seconds=6)
    service.webhook_dispatcher.deliver_due()
    (capped,) = deliveries(client, admin, endpoint["id"])
    assert capped["status"] == "succeeded" and capped["attempt_log"][-1]["duration_ms"] < 5000


# --- production: SSRF guard ----------------------------------------------------------------


@pytest.fixture
def production(tmp_path, db, database_factory, clock):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="production",
                           eligibility_url="http://127.0.0.1:1")
    container = bootstrap(config, clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hooks", "https://10.1.2.3/hooks", "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hooks", "https://[::ffff:10.0.0.1]/hooks", "https://192.168.0.10/hooks", "http://hooks.example/x",
])
def test_production_refuses_internal_and_plain_http_targets_with_422(production, url):
    client = create_app(production).test_client()
    admin = {"Authorization": f"Bearer {issue_test_staff_token(production.runtime.sessions, 'admin')}"}
    response = client.post(f"{API}/webhooks", json={"url": url, "event_types": ["booking.created"]}, headers=admin)
    assert response.status_code == 422 and "url" in response.json["errors"]


@pytest.mark.parametrize("trusted", [True, False])
def test_production_delivers_over_https_to_an_allowlisted_in_house_receiver(tmp_path, db, database_factory, clock, trusted):
    """Only with its CA configured: the certificate is checked against the host name in the URL."""
    tls, ca_file = localhost_tls(tmp_path)
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="production",
                           eligibility_url="http://127.0.0.1:1", webhook_allowed_networks=("127.0.0.1/32", "::1/128"),
                           webhook_ca_file=ca_file if trusted else "")
    container = bootstrap(config, clock=clock)
    container.migrate()
    receiver = WebhookReceiver(tls=tls).start()
    try:
        client = create_app(container).test_client()
        admin = {"Authorization": f"Bearer {issue_test_staff_token(container.runtime.sessions, 'admin')}"}
        endpoint = register(client, admin, receiver.url, events=("screening.decided",))
        receiver.secrets = [endpoint["secret"]]
        with container.runtime.sessions.begin() as session:
            container.handlers[EventType.SCREENING_DECIDED](session, make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
                "screening_id": "scr-tls", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "1",
                "decided_at": "2026-12-01T10:00:00+00:00", "valid_until": "2027-03-01T10:00:00+00:00"}))
        assert container.webhook_dispatcher.deliver_due() == 1
        (delivery,) = deliveries(client, admin, endpoint["id"])
    finally:
        receiver.stop()
        container.runtime.engine.dispose()
    if not trusted:
        assert receiver.requests == [] and "CERTIFICATE_VERIFY_FAILED" in delivery["last_error"]
        return
    assert delivery["status"] == "succeeded" and receiver.requests[0].verified
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_production_refuses_at_send_time_a_host_name_that_resolves_to_loopback(production, receiver):
    client = create_app(production).test_client()
    admin = {"Authorization": f"Bearer {issue_test_staff_token(production.runtime.sessions, 'admin')}"}
    endpoint = register(client, admin, f"https://localhost:{receiver.port}/hooks", events=("screening.decided",))
    envelope = make_envelope(EventType.SCREENING_DECIDED, "/kapbook/eligibility", {
        "screening_id": "scr-2", "patient_email": "pat@example.org", "outcome": "eligible", "ruleset_version": "1",
        "decided_at": "2026-12-01T10:00:00+00:00", "valid_until": "2027-03-01T10:00:00+00:00",
    })
    with production.runtime.sessions.begin() as session:
        production.handlers[EventType.SCREENING_DECIDED](session, envelope)
    assert production.webhook_dispatcher.deliver_due() == 1

    (delivery,) = deliveries(client, admin, endpoint["id"])
    assert delivery["last_error"].startswith("refused:") and "loopback" in delivery["last_error"]
    assert receiver.requests == []


def test_migration_0007_creates_the_webhook_tables_and_downgrades(service):
    from alembic import command
    from sqlalchemy import inspect

    from kapbook_platform.runtime import alembic_config

    config = alembic_config(service.runtime, t.metadata, "kapbook_booking.adapters.migrations")
    names = {"webhook_endpoints", "webhook_deliveries", "webhook_attempts"}
    assert names <= set(inspect(service.runtime.engine).get_table_names())
    command.downgrade(config, "0005")
    assert not names & set(inspect(service.runtime.engine).get_table_names())
    command.upgrade(config, "head")
    assert names <= set(inspect(service.runtime.engine).get_table_names())
