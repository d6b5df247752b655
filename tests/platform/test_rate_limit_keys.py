"""What a rate limit counts by: the client's network (IPv6 per /64), the shared scope of an HTML/API pair,
a hash of the patient's email. Unit tests on a bare Flask app with in-memory counters."""
from __future__ import annotations

from flask import Flask

from kapbook_platform.config import PlatformConfig
from kapbook_platform.web.errors import register_error_handlers
from kapbook_platform.web.ratelimit import (
    EMAIL_MESSAGE,
    NETWORK_MESSAGE,
    client_key,
    email_key,
    install_rate_limits,
    patient_email_in_json,
    public_write,
)


def test_an_ipv4_address_is_counted_by_itself():
    assert client_key("203.0.113.5") == "203.0.113.5"
    assert client_key("203.0.113.5") != client_key("203.0.113.6")


def test_ipv6_addresses_are_counted_by_their_64_network():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff:ffff:ffff:fffe") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1"), "the next /64 is another subscriber"
    assert client_key("2001:DB8:1:2::1") == "2001:db8:1:2::/64", "one spelling per network"
    assert client_key("fe80::1%eth0") == "fe80::/64"


def test_an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address_and_junk_as_itself():
    assert client_key("::ffff:203.0.113.5") == "203.0.113.5"
    assert client_key("not-an-address") == "not-an-address"
    assert client_key(None) == "unknown"


def test_emails_are_counted_by_a_hash_that_ignores_case_and_spaces():
    assert email_key(" Pat@Example.org") == email_key("pat@example.org")
    assert email_key("pat@example.org") != email_key("sam@example.org")
    assert "pat" not in email_key("pat@example.org") and "example" not in email_key("pat@example.org")


def limited_app(**settings) -> Flask:
    """Two routes sharing the scope "cancel" (a form and its API twin), one alone, one counting per email."""
    app = Flask(__name__)
    register_error_handlers(app)
    install_rate_limits(app, PlatformConfig(env="test", **settings))

    @app.post("/page/cancel")
    @public_write(scope="cancel")
    def page_cancel():
        return "page"

    @app.post("/api/cancel")
    @public_write(scope="cancel")
    def api_cancel():
        return "api"

    @app.post("/api/hold")
    @public_write()
    def hold():
        return "hold"

    @app.post("/api/book")
    @public_write(scope="book", email=patient_email_in_json)
    def book():
        return "booked"

    @app.post("/api/screen")
    @public_write(scope="screen", email=patient_email_in_json, spare=lambda: True)
    def screen():
        return "helped"

    return app


def test_an_html_form_and_its_api_twin_share_one_count_other_routes_have_their_own():
    client = limited_app(rate_limit="2/minute").test_client()
    assert client.post("/page/cancel").status_code == 200
    assert client.post("/api/cancel").status_code == 200
    refused = client.post("/page/cancel")
    assert refused.status_code == 429 and refused.get_json() == {"code": "rate_limited", "message": NETWORK_MESSAGE}
    assert client.post("/api/cancel").status_code == 429
    assert client.post("/api/hold").status_code == 200, "a route without the scope counts apart"
    assert client.post("/api/cancel", environ_base={"REMOTE_ADDR": "2001:db8:9::1"}).status_code == 200


def test_the_same_ipv6_64_shares_a_count():
    client = limited_app(rate_limit="1/minute").test_client()
    assert client.post("/api/hold", environ_base={"REMOTE_ADDR": "2001:db8:1:2::1"}).status_code == 200
    assert client.post("/api/hold", environ_base={"REMOTE_ADDR": "2001:db8:1:2::beef"}).status_code == 429
    assert client.post("/api/hold", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 200


def test_one_email_is_capped_across_addresses_and_a_spared_request_is_served_over_the_cap():
    client = limited_app(rate_limit_per_email="2/hour").test_client()
    body = {"patient": {"email": "pat@example.org"}}
    for address in ("198.51.100.1", "198.51.100.2"):
        assert client.post("/api/book", json=body, environ_base={"REMOTE_ADDR": address}).status_code == 200
    refused = client.post("/api/book", json={"patient": {"email": "PAT@example.org"}},
                          environ_base={"REMOTE_ADDR": "198.51.100.3"})
    assert refused.status_code == 429 and refused.get_json()["message"] == EMAIL_MESSAGE
    assert int(refused.headers["Retry-After"]) > 60, "the per-email window is an hour"
    assert client.post("/api/book", json={"patient": {"email": "sam@example.org"}}).status_code == 200
    assert client.post("/api/book", json={}).status_code == 200, "no email in the body: only the network counts"
    for _ in range(3):
        assert client.post("/api/screen", json=body).get_data(as_text=True) == "helped"
