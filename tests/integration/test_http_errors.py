"""Bad HTTP input gets a clear error in the one shared shape, never a 500, on every service."""
from __future__ import annotations

import pytest

from kapbook_booking.bootstrap import bootstrap as booking_bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app as booking_app
from kapbook_eligibility.bootstrap import bootstrap as eligibility_bootstrap
from kapbook_eligibility.config import EligibilityConfig
from kapbook_eligibility.entrypoints.app import create_app as eligibility_app
from kapbook_reminders.bootstrap import bootstrap as reminders_bootstrap
from kapbook_reminders.config import RemindersConfig
from kapbook_reminders.entrypoints.app import create_app as reminders_app

pytestmark = pytest.mark.integration

SERVICES = {
    "booking": (booking_bootstrap, BookingConfig, booking_app, "/api/booking/v1/bookings"),
    "eligibility": (eligibility_bootstrap, EligibilityConfig, eligibility_app, "/api/eligibility/v1/screenings"),
    "reminders": (reminders_bootstrap, RemindersConfig, reminders_app, "/api/reminders/v1/unsubscribe"),
}


JSON_BODY_SERVICES = ["booking", "eligibility"]  # reminders takes no JSON bodies, only query parameters


def make_client(name: str, tmp_path):
    bootstrap, config_class, create_app, write_path = SERVICES[name]
    container = bootstrap(config_class(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", var_dir=tmp_path, env="test"))
    container.migrate()
    return container, create_app(container).test_client(), write_path


@pytest.fixture(params=JSON_BODY_SERVICES)
def service(request, tmp_path):
    container, client, path = make_client(request.param, tmp_path)
    yield client, path
    container.runtime.engine.dispose()


@pytest.fixture(params=sorted(SERVICES))
def any_service(request, tmp_path):
    container, client, path = make_client(request.param, tmp_path)
    yield client, path
    container.runtime.engine.dispose()


def assert_shared_shape(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body
    assert set(body) <= {"code", "message", "errors"}, body
    return body


def test_malformed_json_is_400(service):
    client, path = service
    body = assert_shared_shape(client.post(path, data="{not json", content_type="application/json"), 400)
    assert body["code"] == "bad_request"


@pytest.mark.parametrize("payload", [[], "text", 12, {"patient": "not an object", "start": 5, "answers": []}])
def test_wrong_shapes_and_types_are_422_with_field_errors(service, payload):
    client, path = service
    body = assert_shared_shape(client.post(path, json=payload), 422)
    assert body["code"] == "validation_error" and body["errors"]


def test_missing_fields_are_named(service):
    client, path = service
    body = assert_shared_shape(client.post(path, json={}), 422)
    assert "patient" in body["errors"]


def test_invalid_query_parameters_are_422_with_field_errors(tmp_path):
    container, client, path = make_client("reminders", tmp_path)
    body = assert_shared_shape(client.post(path, query_string={"limit": "many"}), 422)
    assert body["errors"]
    container.runtime.engine.dispose()


def test_unknown_route_and_wrong_method_use_the_shared_shape(any_service):
    client, path = any_service
    assert assert_shared_shape(client.get(path.rsplit("/", 1)[0] + "/no-such-thing"), 404)["code"] == "not_found"
    response = client.delete(path)
    assert assert_shared_shape(response, 405)["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_a_body_that_is_too_large_is_413_not_500(service):
    client, path = service
    response = client.post(path, data="x" * (2 * 1024 * 1024), content_type="application/json")
    assert assert_shared_shape(response, 413)["code"] == "payload_too_large"
