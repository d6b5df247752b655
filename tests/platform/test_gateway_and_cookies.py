"""The dev gateway keeps no cookies; staff cookies never authorise anything through a JSON API."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from werkzeug.test import Client

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.gateway import Gateway
from kapbook_platform.staff.web import STAFF_COOKIE
from support.clinic import ClinicBuilder
from support.pipeline import free_port

pytestmark = pytest.mark.integration  # a real SQLite database / HTTP servers on loopback


class CookieEcho(BaseHTTPRequestHandler):
    """Sets a cookie on /sign-in and echoes the Cookie header it receives elsewhere."""

    def do_GET(self):
        body = (self.headers.get("Cookie") or "").encode()
        self.send_response(200)
        if self.path == "/sign-in":
            self.send_header("Set-Cookie", "kapbook_staff=secret-token; Path=/; HttpOnly")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_gateway_never_passes_one_visitors_cookie_to_another():
    upstream = ThreadingHTTPServer(("127.0.0.1", free_port()), CookieEcho)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        gateway = Client(Gateway(routes={}, default=f"http://127.0.0.1:{upstream.server_address[1]}"))
        signed_in = gateway.get("/sign-in")
        assert "kapbook_staff=secret-token" in signed_in.headers["Set-Cookie"], "the visitor gets their cookie"
        stranger = Client(gateway.application).get("/staff/calendar")
        assert stranger.get_data() == b"", "nobody else may be sent it"
    finally:
        upstream.shutdown()


@pytest.fixture
def booking(tmp_path):
    container = bootstrap(BookingConfig(database_url=f"sqlite:///{tmp_path / 'b.db'}", var_dir=tmp_path, env="test"))
    container.migrate()
    clinic = ClinicBuilder(container.runtime.sessions)
    yield create_app(container).test_client(), clinic.staff_token("admin")
    container.runtime.engine.dispose()


def test_a_staff_cookie_neither_reads_nor_changes_through_the_json_api(booking):
    """Finding 1: the console cookie used to be the bearer token, and the JSON APIs read with it."""
    client, token = booking
    client.set_cookie(STAFF_COOKIE, token)
    assert client.get("/api/booking/v1/locations").status_code == 401
    refused = client.post("/api/booking/v1/locations", json={"name": "X", "timezone": "UTC"})
    assert refused.status_code == 401
    assert client.get("/staff/calendar").status_code == 302, "nor is a token in the cookie a console session"
    allowed = client.post("/api/booking/v1/locations", json={"name": "X", "timezone": "UTC"},
                          headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 201
