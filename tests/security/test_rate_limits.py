"""Rate limits on the public write endpoints: per client address, per route, 429 in the shared shape."""
from __future__ import annotations

import logging
import time
from datetime import date, timedelta

import pytest

from sqlalchemy import text

from kapbook_platform.config import ConfigError, PlatformConfig
from kapbook_platform.contracts import EventType
from kapbook_platform.web.ratelimit import EMAIL_MESSAGE, PUBLIC_WRITE
from support.screening_answers import CRISIS_CHANGES, eligible_answers
from support.servers import free_port

from security_services import build_service

pytestmark = pytest.mark.integration

API = "/api/booking/v1"
PATIENT = {"name": "Pat Example", "email": "pat@example.org", "timezone": "Europe/Berlin"}


def assert_throttled(response) -> None:
    assert response.status_code == 429, (response.status_code, response.get_json())
    assert response.get_json() == {
        "code": "rate_limited", "message": "Too many requests from your network; please wait a moment and try again.",
    }
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"


def free_starts(booking, count: int) -> list[str]:
    first = date.today() + timedelta(days=2)
    slots = booking.client.get(f"{API}/availability", query_string={
        "appointment_type": "free-consultation", "start": first.isoformat(),
        "end": (first + timedelta(days=7)).isoformat(), "timezone": "UTC"}).json["slots"]
    return [slot["start"] for slot in slots[::6][:count]]  # apart enough that one booking's buffer leaves the next free


def test_booking_over_the_limit_is_429_with_retry_after_and_other_routes_and_addresses_are_counted_apart(service_factory):
    booking = service_factory("booking", rate_limit="3/minute")
    client = booking.client
    starts = free_starts(booking, 4)
    made = [client.post(f"{API}/bookings", json={"appointment_type": "free-consultation", "start": start, "patient": PATIENT})
            for start in starts[:3]]
    assert [response.status_code for response in made] == [201, 201, 201]
    assert_throttled(client.post(f"{API}/bookings", json={"appointment_type": "free-consultation", "start": starts[3],
                                                           "patient": PATIENT}))
    assert_throttled(client.post(f"{API}/bookings", json={}))  # refused before the body is even read

    assert client.post(f"{API}/holds", json={"appointment_type": "free-consultation", "start": starts[3]}).status_code == 201
    assert client.get(f"{API}/catalog").status_code == 200, "reads are not limited"
    other_client = client.post(f"{API}/bookings", json={}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other_client.status_code == 422, "another address has its own count"
    staff = client.post(f"{API}/bookings", json={}, headers=booking.staff_headers("front_desk"))
    assert staff.status_code == 422, "a signed-in front desk booking for patients is not limited"
    invalid_token = client.post(f"{API}/bookings", json={}, headers={"Authorization": "Bearer kbs_not-a-token"})
    assert invalid_token.status_code == 429, "an invalid staff token does not lift the limit"


def test_holds_and_the_manage_links_cancel_and_reschedule_are_limited_html_and_api_as_one(service_factory):
    booking = service_factory("booking", rate_limit="2/minute")
    client = booking.client
    for _ in range(2):
        assert client.post(f"{API}/holds", json={}).status_code == 422
    assert_throttled(client.post(f"{API}/holds", json={}))
    for action in ("cancel", "reschedule"):
        # The manage page's HTML form and the manage API doing the same thing share one count.
        assert client.post(f"{API}/manage/forged-token/{action}", json={"start": "x"}).status_code in (403, 422)
        assert client.post(f"/manage/forged-token/{action}", data={"start": "x"}).status_code in (403, 422)
        assert_throttled(client.post(f"{API}/manage/forged-token/{action}", json={"start": "x"}))
        assert_throttled(client.post(f"/manage/forged-token/{action}", data={"start": "x"}))
    # Reading a manage link and releasing a hold are not public writes that need a limit.
    assert all(client.get(f"{API}/manage/forged-token").status_code == 403 for _ in range(3))
    assert all(client.delete(f"{API}/holds/no-such-hold").status_code == 204 for _ in range(3))


def test_screenings_are_limited(service_factory):
    eligibility = service_factory("eligibility", rate_limit="2/minute")
    client = eligibility.client
    for _ in range(2):
        assert client.post("/api/eligibility/v1/screenings", json={}).status_code == 422
    assert_throttled(client.post("/api/eligibility/v1/screenings", json={}))
    assert client.get("/api/eligibility/v1/questionnaire").status_code == 200


def test_the_client_address_is_the_one_the_trusted_proxy_saw_not_one_the_client_claims(service_factory):
    booking = service_factory("booking", rate_limit="2/minute", trusted_proxies=1)  # behind one proxy (make run, compose)
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for claimed in ("10.1.1.1", "10.2.2.2"):
        headers = {"X-Forwarded-For": f"{claimed}, 203.0.113.5"}  # the proxy appended the real address
        assert booking.client.post(f"{API}/holds", json={}, headers=headers, environ_base=proxy).status_code == 422
    throttled = booking.client.post(f"{API}/holds", json={}, headers={"X-Forwarded-For": "10.3.3.3, 203.0.113.5"},
                                    environ_base=proxy)
    assert_throttled(throttled)
    neighbour = booking.client.post(f"{API}/holds", json={}, headers={"X-Forwarded-For": "203.0.113.6"}, environ_base=proxy)
    assert neighbour.status_code == 422, "two patients behind the same proxy are counted apart"

    direct = service_factory("booking", rate_limit="2/minute")  # the default: no proxy trusted
    for claimed in ("10.1.1.1", "10.2.2.2"):
        assert direct.client.post(f"{API}/holds", json={}, headers={"X-Forwarded-For": claimed}).status_code == 422
    assert_throttled(direct.client.post(f"{API}/holds", json={}, headers={"X-Forwarded-For": "10.3.3.3"}))


def test_limits_are_documented_on_exactly_the_public_writes(service_factory):
    expected = {
        "booking": {("post", f"{API}/bookings"), ("post", f"{API}/holds"), ("post", f"{API}/manage/{{token}}/cancel"),
                    ("post", f"{API}/manage/{{token}}/reschedule"), ("post", f"{API}/patient/sign-in-links"),
                    ("post", f"{API}/patient/proof"), ("post", f"{API}/patient/status"),
                    ("post", f"{API}/series"), ("post", f"{API}/manage/{{token}}/series/cancel-remaining"),
                    ("post", f"{API}/waitlist"), ("post", f"{API}/waitlist/offers/{{token}}/claim"),
                    ("post", f"{API}/waitlist/offers/{{token}}/decline"), ("post", f"{API}/waitlist/leave/{{token}}")},
        "eligibility": {("post", "/api/eligibility/v1/screenings")},
        "reminders": set(),
    }
    for name, operations in expected.items():
        service = service_factory(name)
        spec = service.client.get(f"/api/{name}/openapi.json").json
        limited = {(method, path) for path, item in spec["paths"].items() for method, operation in item.items()
                   if isinstance(operation, dict) and "429" in operation.get("responses", {})}
        assert limited == operations, name
        for method, path in limited:
            assert "Retry-After" in spec["paths"][path][method]["responses"]["429"]["headers"]
        marked = {rule.endpoint for rule in service.app.url_map.iter_rules()
                  if any(getattr(getattr(getattr(service.app.view_functions[rule.endpoint], "view_class", None), m, None),
                                 PUBLIC_WRITE, False) for m in ("get", "post", "put", "patch", "delete"))}
        assert len(marked) == len(operations), (name, marked)


@pytest.mark.parametrize("settings, problem", [
    ({"rate_limit": "lots"}, "KAPBOOK_RATE_LIMIT"),
    ({"rate_limit_per_email": "often"}, "KAPBOOK_RATE_LIMIT_PER_EMAIL"),
    ({"rate_limit_storage": "bogus://nowhere"}, "KAPBOOK_RATE_LIMIT_STORAGE"),
    ({"trusted_proxies": 9}, "KAPBOOK_TRUSTED_PROXIES"),
])
def test_a_service_refuses_to_start_on_a_bad_limit_setting(tmp_path, settings, problem):
    with pytest.raises(ConfigError, match=problem):
        build_service("booking", tmp_path, migrate=False, **settings)


def test_test_configs_get_a_limit_no_suite_meets_and_others_the_production_default():
    assert PlatformConfig(env="test").effective_rate_limit == "100000/minute"
    assert PlatformConfig(env="production").effective_rate_limit == "30/minute"
    assert PlatformConfig(env="development").effective_rate_limit == "30/minute"
    assert PlatformConfig.from_env({"KAPBOOK_ENV": "test", "KAPBOOK_RATE_LIMIT": "5/second"}).effective_rate_limit == "5/second"
    assert PlatformConfig(env="test").effective_rate_limit_per_email == "100000/minute"
    assert PlatformConfig(env="production").effective_rate_limit_per_email == "10/hour"


def test_one_patient_email_is_capped_from_any_address(service_factory):
    booking = service_factory("booking", rate_limit_per_email="2/hour")
    starts = free_starts(booking, 4)
    for start, address in zip(starts[:2], ("198.51.100.1", "2001:db8::1")):
        made = booking.client.post(f"{API}/bookings", environ_base={"REMOTE_ADDR": address},
                                   json={"appointment_type": "free-consultation", "start": start, "patient": PATIENT})
        assert made.status_code == 201, made.get_json()
    refused = booking.client.post(f"{API}/bookings", environ_base={"REMOTE_ADDR": "198.51.100.9"}, json={
        "appointment_type": "free-consultation", "start": starts[2], "patient": PATIENT | {"email": "PAT@example.org"}})
    assert refused.status_code == 429
    assert refused.get_json() == {"code": "rate_limited", "message": EMAIL_MESSAGE}
    other = booking.client.post(f"{API}/bookings", json={
        "appointment_type": "free-consultation", "start": starts[3], "patient": PATIENT | {"email": "sam@example.org"}})
    assert other.status_code == 201


def screening(answers: dict, email: str = "pat@example.org") -> dict:
    return {"patient": {"name": "Pat Example", "email": email}, "answers": answers}


@pytest.mark.parametrize("cap", [{"rate_limit": "2/hour"}, {"rate_limit_per_email": "2/hour"}])
def test_screenings_over_a_cap_are_refused_but_a_crisis_is_always_answered_with_the_crisis_resources(
        service_factory, cap):
    eligibility = service_factory("eligibility", **cap)
    client = eligibility.client
    for _ in range(2):
        assert client.post("/api/eligibility/v1/screenings", json=screening(eligible_answers())).status_code == 201
    assert_refused = client.post("/api/eligibility/v1/screenings", json=screening(eligible_answers()))
    assert assert_refused.status_code == 429 and assert_refused.get_json()["code"] == "rate_limited"
    assert int(assert_refused.headers["Retry-After"]) >= 1

    for _ in range(2):  # over the cap, and still: the patient sees where to get help, staff are alerted
        crisis = client.post("/api/eligibility/v1/screenings", json=screening(eligible_answers(**CRISIS_CHANGES)))
        assert crisis.status_code == 201, crisis.get_json()
        assert crisis.get_json()["outcome"] == "crisis" and crisis.get_json()["crisis_resources"]
    with eligibility.container.runtime.sessions() as session:
        alerts = session.execute(text("SELECT type FROM outbox")).scalars().all()
    assert alerts.count(EventType.SCREENING_CRISIS) == 2


def test_a_rate_limit_store_that_stops_answering_falls_back_to_counting_in_the_process(service_factory, caplog):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    booking = service_factory("booking", rate_limit="2/minute", rate_limit_storage=dead_redis)
    logging.getLogger().addHandler(caplog.handler)  # the service's logging setup replaced the root handlers
    started = time.monotonic()
    answers = [booking.client.post(f"{API}/holds", json={}).status_code for _ in range(3)]
    assert answers == [422, 422, 429], "still served, still limited"
    assert time.monotonic() - started < 3, "no long retries against a dead store on every request"
    outage_warnings = [r for r in caplog.records if r.getMessage().startswith("rate-limit store unavailable")]
    assert len(outage_warnings) == 1, "one warning, not one per request"
