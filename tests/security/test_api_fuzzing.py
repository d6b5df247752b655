"""schemathesis against the OpenAPI document of every service, with every check.

Each service runs as its app factory builds it, on a fresh SQLite database (booking with the demo
clinic), and the requests carry a staff admin token (the service token for the one route only
services may call), so the signed-in operations are exercised beyond their 401. Generation is
seeded and bounded: a run is reproducible and takes a minute or two on two cores.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure

from fuzz_rows import aim_at_real_rows, create_real_rows
from security_services import SERVICE_NAMES, build_service

pytestmark = pytest.mark.integration

load_all_checks()
FUZZ_SETTINGS = settings(
    max_examples=30,  # per operation, on top of schemathesis' own examples and boundary (coverage) cases
    deadline=None,  # a first request may migrate nothing but still warm caches; time is not what is tested
    derandomize=True,  # the same cases on every run and machine
    database=None,
    # Generating from large schemas (the zone list, nested bodies) is slow and filters a lot; that is
    # the strategy's nature here, not a problem with a test.
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
)
# The message of a 422 from request parsing (webargs and the marshmallow schemas), not from a use case.
PARSE_REJECTION = "Some fields are missing or invalid; see errors."

CONFIG = {
    "checks": {
        # A request can match the document and still be refused by a rule no OpenAPI document can
        # state: a reference to a row that does not exist (appointment type, location, clinician),
        # a field compared with another (end after start, diastolic below systolic), the screening
        # questionnaire's skip logic, a slot that is not free. Those are 422s from the use cases, in
        # the shared shape with their own code or message; `schema_valid_requests_are_parsed` below
        # still fails the run on any 422 from request parsing, where the document and the code disagree.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]},
    },
    "operations": [
        {
            # The unsubscribe token is an HMAC over the address; no generated string is a valid one,
            # and the documented answer to an invalid link is the 400 page.
            "include-path": "/api/reminders/v1/unsubscribe",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400"]}},
        },
        {
            # The check-in link's token is sealed (Fernet) by the reminders service; no generated
            # string opens one, and the documented answer to an invalid link is the 400 page.
            "include-path": "/api/eligibility/v1/check-in",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400"]}},
        },
    ],
}


class ParsedValidRequestRejected(Failure):
    kind_title = "Schema-valid request refused by request parsing"


# Request-schema rules between fields that OpenAPI 3.0 cannot state for query parameters.
CROSS_FIELD_RULES = {
    "GET /api/booking/v1/calendar": "exactly one of clinician_id and room_id",
}


def schema_valid_requests_are_parsed(ctx, response, case) -> None:
    """A request generated to match the document must never fail the route's own request schema."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if case.operation.label in CROSS_FIELD_RULES:
        return None
    body = response.json()
    if body.get("message") == PARSE_REJECTION:
        raise ParsedValidRequestRejected(
            operation=case.operation.label, message=f"The document allows what the route's schema refuses: {response.text[:500]}"
        )
    return None


def openapi_schema(name: str) -> schemathesis.schemas.BaseSchema:
    """The service's OpenAPI document, read at collection from an app on an empty database; the
    tests send every request to a migrated, seeded app of their own (``app=``)."""
    with tempfile.TemporaryDirectory() as directory:
        service = build_service(name, Path(directory), migrate=False)
        try:
            return schemathesis.openapi.from_wsgi(
                f"/api/{name}/openapi.json", service.app, config=SchemathesisConfig.from_dict(CONFIG)
            )
        finally:
            service.close()


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    built = {name: build_service(name, tmp_path_factory.mktemp(name)) for name in SERVICE_NAMES}
    create_real_rows(built)
    yield built
    for service in built.values():
        service.close()


def call_and_validate(case, service) -> None:
    if case.operation.path.startswith("/api/eligibility/v1/decisions/"):
        headers = {"Authorization": f"Bearer {service.container.config.service_token}"}
    else:
        headers = service.staff_headers("admin")
    case.call_and_validate(
        app=service.app, headers=headers, checks=CHECKS.get_all(), additional_checks=[schema_valid_requests_are_parsed]
    )


booking = openapi_schema("booking")
eligibility = openapi_schema("eligibility")
reminders = openapi_schema("reminders")
for schema, name in ((booking, "booking"), (eligibility, "eligibility"), (reminders, "reminders")):
    aim_at_real_rows(schema, name)


@booking.parametrize()
@FUZZ_SETTINGS
def test_booking_api(case, services):
    call_and_validate(case, services["booking"])


@eligibility.parametrize()
@FUZZ_SETTINGS
def test_eligibility_api(case, services):
    call_and_validate(case, services["eligibility"])


@reminders.parametrize()
@FUZZ_SETTINGS
def test_reminders_api(case, services):
    call_and_validate(case, services["reminders"])
