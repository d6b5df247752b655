"""A token or form secret with a character outside ASCII is refused like any wrong one, never a 500.

``hmac.compare_digest`` raises TypeError when handed a str that is not ASCII, so every comparison
of a secret compares bytes. Each place a caller hands us a secret is tried with an 'é' in it: the
service credential, the console's CSRF field (and a console session cookie), a staff bearer token, a manage link, an unsubscribe
link and a calendar feed URL.
"""
from __future__ import annotations

import pytest

from kapbook_platform.staff.web import STAFF_COOKIE
from support.clinic import add_test_staff_member, console_sign_in

pytestmark = pytest.mark.integration

TOKEN = "kbs_secrét_token"


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    from security_services import build_service

    directory = tmp_path_factory.mktemp("non-ascii")
    built = {name: build_service(name, directory / name) for name in ("booking", "eligibility", "reminders")}
    yield built
    for service in built.values():
        service.close()


def refused(response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])


def test_a_non_ascii_service_credential_is_401(services):
    client = services["eligibility"].client
    refused(client.get("/api/eligibility/v1/decisions/some-screening", headers={"Authorization": f"Bearer {TOKEN}"}), 401)


def test_a_non_ascii_csrf_field_is_the_expired_form_answer(services):
    booking = services["booking"]
    member = add_test_staff_member(booking.container.runtime.sessions, "admin")
    refused(booking.client.post("/staff/sign-in", data={"csrf_token": "é", "email": member["email"], "password": member["password"]}), 400)
    signed_in = booking.app.test_client()
    refused(console_sign_in(signed_in, member["email"], member["password"]), 303)
    refused(signed_in.post("/staff/sign-out", data={"csrf_token": "é"}), 400)
    forged_session = booking.app.test_client()
    forged_session.set_cookie(STAFF_COOKIE, "sessión-secrète", path="/staff/")
    refused(forged_session.get("/staff/calendar"), 302)
    refused(signed_in.post("/staff/bookings/some-booking/cancel", data={"csrf_token": "jeton-expiré"}), 400)


def test_a_non_ascii_staff_bearer_token_is_401_in_every_service(services):
    for name, path in (("booking", "/api/booking/v1/locations"), ("eligibility", "/api/eligibility/v1/reviews"),
                       ("reminders", "/api/reminders/v1/notifications")):
        refused(services[name].client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}), 401)


def test_non_ascii_link_tokens_are_refused(services):
    booking, reminders = services["booking"].client, services["reminders"].client
    manage = "eyJib29raW5nIjoiw6kifQ.é"
    refused(booking.get(f"/api/booking/v1/manage/{manage}"), 403, 404)
    refused(booking.post(f"/api/booking/v1/manage/{manage}/cancel"), 403, 404)
    refused(booking.get(f"/manage/{manage}"), 403, 404)
    refused(booking.get("/api/booking/v1/calendars/tokén.ics"), 404)
    refused(reminders.get("/api/reminders/v1/unsubscribe", query_string={"token": "é.é"}), 400)
    refused(reminders.post("/api/reminders/v1/unsubscribe", query_string={"token": "YQ.é"}), 400)
