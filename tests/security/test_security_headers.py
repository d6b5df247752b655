"""Security headers on every response of every service, and pages that work under their policy."""
from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from kapbook_reminders.domain.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.integration

SAME_EVERYWHERE = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
API = "/api/booking/v1"


def assert_secure(response, *, cache: str | None = "no-store", referrer: str = "no-referrer") -> None:
    for name, value in SAME_EVERYWHERE.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))
    assert response.headers.get("Referrer-Policy") == referrer, dict(response.headers)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, policy
    if cache is not None:
        assert response.headers.get("Cache-Control") == cache, (response.status_code, dict(response.headers))
    assert "Strict-Transport-Security" not in response.headers, "HSTS only over https"


@pytest.fixture
def booking(service_factory):
    return service_factory("booking")


def book(booking) -> dict:
    slots = booking.client.get(f"{API}/availability", query_string={
        "appointment_type": "free-consultation", "start": (date.today() + timedelta(days=2)).isoformat(),
        "end": (date.today() + timedelta(days=9)).isoformat(), "timezone": "UTC"}).json["slots"]
    response = booking.client.post(f"{API}/bookings", json={
        "appointment_type": "free-consultation", "start": slots[0]["start"],
        "patient": {"name": "Pat Example", "email": "pat@example.org", "timezone": "Europe/Berlin"}})
    assert response.status_code == 201, response.json
    assert_secure(response)
    return response.json


@pytest.mark.parametrize("name", ["booking", "eligibility", "reminders"])
def test_every_kind_of_api_response_carries_the_headers_and_is_not_stored(service_factory, name):
    service = service_factory(name)
    client = service.client
    api_policy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    responses = [
        client.get(f"/api/{name}/openapi.json"),  # 200
        client.get(f"/api/{name}/healthz"),
        client.get(f"/api/{name}/v1/no-such-route"),  # 404
        client.delete(f"/api/{name}/openapi.json"),  # 405
        client.get(f"/api/{name}/v1/{'clinicians' if name == 'booking' else 'reviews' if name == 'eligibility' else 'notifications'}"),  # 401
    ]
    assert [response.status_code for response in responses] == [200, 200, 404, 405, 401]
    for response in responses:
        assert_secure(response)
        assert response.headers["Content-Security-Policy"] == api_policy


def test_bookings_and_manage_links_are_never_stored_and_choices_of_routes_are_kept(booking):
    made = book(booking)
    token = made["manage_url"].rsplit("/", 1)[1]
    assert_secure(booking.client.get(f"{API}/manage/{token}"))
    assert_secure(booking.client.get(f"{API}/bookings/{made['id']}", headers=booking.staff_headers("front_desk")))
    # Routes that chose their own caching keep it: the public catalogue and a clinician's feed.
    assert_secure(booking.client.get(f"{API}/catalog"), cache="public, max-age=60")
    admin = booking.staff_headers("admin")
    clinician = booking.client.get(f"{API}/clinicians", headers=admin).json[0]["id"]
    feed = booking.client.get(f"{API}/clinicians/{clinician}/calendar-feed", headers=admin).json["url"]
    assert_secure(booking.client.get(urlsplit(feed).path), cache="private, max-age=300")


def test_screening_results_are_never_stored(service_factory):
    eligibility = service_factory("eligibility")
    response = eligibility.client.post("/api/eligibility/v1/screenings", json={"patient": {}, "answers": {}})
    assert response.status_code == 422
    assert_secure(response)


def test_hsts_only_when_the_client_came_over_https(service_factory):
    booking = service_factory("booking", trusted_proxies=1)  # behind one proxy, as make run and compose set
    direct = booking.client.get(f"{API}/catalog", base_url="https://clinic.example")
    assert direct.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    proxied = booking.client.get(f"{API}/catalog", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Strict-Transport-Security" in proxied.headers, "the trusted proxy says the client used https"
    assert "Strict-Transport-Security" not in booking.client.get(f"{API}/catalog").headers

    unproxied = service_factory("booking")  # the default: no proxy trusted
    spoofed = unproxied.client.get(f"{API}/catalog", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers, "without a trusted proxy the header is the client's word"


# --- pages ------------------------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def assert_page_works_under_its_policy(response) -> None:
    """The page policies allow scripts only from our origin: no inline script, no on* attributes."""
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy or "default-src 'none'" in policy, policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[-1].split(";", 1)[0], policy
    html = response.get_data(as_text=True)
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not EVENT_HANDLER.search(html), EVENT_HANDLER.search(html).group(0)


def test_patient_pages_are_unframeable_private_ones_unstored_and_their_scripts_allowed(booking):
    demo = booking.client.get("/")
    assert demo.status_code == 200
    assert_secure(demo, cache=None, referrer="strict-origin-when-cross-origin")  # no token in its URL
    assert_page_works_under_its_policy(demo)
    widget = booking.client.get("/widget.js")
    assert widget.status_code == 200 and widget.headers["X-Content-Type-Options"] == "nosniff"

    token = book(booking)["manage_url"].rsplit("/", 1)[1]
    manage = booking.client.get(f"/manage/{token}")
    assert manage.status_code == 200
    assert_secure(manage)
    assert_page_works_under_its_policy(manage)
    forged = booking.client.get(f"/manage/{token[:-3]}xyz")
    assert forged.status_code == 403
    assert_secure(forged)


def test_staff_console_pages_are_unframeable_unstored_and_their_scripts_allowed(booking):
    sign_in = booking.client.get("/staff/sign-in")
    assert sign_in.status_code == 200
    assert_secure(sign_in)
    assert_page_works_under_its_policy(sign_in)
    calendar = booking.client.get("/staff/calendar", headers=booking.staff_headers("admin"))  # bearer or cookie
    assert calendar.status_code == 200
    assert_secure(calendar)
    assert_page_works_under_its_policy(calendar)


def test_the_unsubscribe_page_gets_no_framing_added_to_its_own_policy(service_factory):
    reminders = service_factory("reminders")
    token = unsubscribe_token("pat@example.org", reminders.container.config.unsubscribe_key)
    page = reminders.client.get("/api/reminders/v1/unsubscribe", query_string={"token": token})
    assert page.status_code == 200
    assert_secure(page)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert_page_works_under_its_policy(page)


def test_the_screening_frame_may_be_framed_only_by_the_widgets_websites_and_tells_only_them(service_factory):
    """Issue 14 finding 8: the questionnaire lives on our origin, framed by the allowed sites alone."""
    booking = service_factory("booking", cors_origins=("https://www.clinic.example",))
    frame = booking.client.get("/screening/frame", query_string={"type": "iv-infusion", "origin": "https://www.clinic.example"})
    assert frame.status_code == 200
    policy = frame.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.clinic.example;" in policy, policy
    assert "X-Frame-Options" not in frame.headers  # it cannot name origins; frame-ancestors does
    assert frame.headers["Cache-Control"] == "no-store" and frame.headers["Referrer-Policy"] == "no-referrer"
    assert_page_works_under_its_policy(frame)
    html = frame.get_data(as_text=True)
    assert 'data-kapbook-parent="https://www.clinic.example"' in html
    # A site not on the list is never told the outcome: the frame has no origin to post to.
    elsewhere = booking.client.get("/screening/frame", query_string={"type": "iv-infusion", "origin": "https://evil.example"})
    assert 'data-kapbook-parent=""' in elsewhere.get_data(as_text=True)
    assert_secure(booking.client.get("/"), cache=None, referrer="strict-origin-when-cross-origin")  # others stay unframeable
