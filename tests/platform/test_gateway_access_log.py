"""Finding 3 of the security review: the gateway's access log holds no secret link.

deploy/nginx.conf is run by a real nginx (Debian's nginx-light, installed by
.ci/system-packages.sh) on a free loopback port, in front of a stub upstream; requests carrying a
manage token, a calendar-feed token or an unsubscribe token are sent through it and the access log
is read back. Without nginx the test skips, except under KAPBOOK_REQUIRE_REAL_SERVICES=1 (CI),
where it fails.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx.conf"
SECRET = "Sekr1t-tok_EN"
# One request per route that carries a secret, and what the log line keeps of it.
SECRET_REQUESTS = {
    f"/manage/{SECRET}": "/manage/[redacted]",
    f"/manage/{SECRET}?action=reschedule&tz=Europe/Paris": "/manage/[redacted]",
    f"/manage/{SECRET}/cancel": "/manage/[redacted]/cancel",
    f"/api/booking/v1/manage/{SECRET}/reschedule": "/api/booking/v1/manage/[redacted]/reschedule",
    f"/api/booking/v1/manage/{SECRET}/series": "/api/booking/v1/manage/[redacted]/series",
    f"/api/booking/v1/manage/{SECRET}/series/cancel-remaining": "/api/booking/v1/manage/[redacted]/series/cancel-remaining",
    f"/manage/{SECRET}/series/cancel-remaining": "/manage/[redacted]/series/cancel-remaining",
    f"/api/booking/v1/calendars/{SECRET}.ics": "/api/booking/v1/calendars/[redacted].ics",
    f"/my/sign-in/{SECRET}": "/my/sign-in/[redacted]",
    f"/staff/reset-password/{SECRET}": "/staff/reset-password/[redacted]",
    f"/waitlist/offers/{SECRET}?decline=1": "/waitlist/offers/[redacted]",
    f"/waitlist/offers/{SECRET}/claim": "/waitlist/offers/[redacted]/claim",
    f"/waitlist/leave/{SECRET}": "/waitlist/leave/[redacted]",
    f"/api/booking/v1/waitlist/offers/{SECRET}/decline": "/api/booking/v1/waitlist/offers/[redacted]/decline",
    f"/api/booking/v1/waitlist/leave/{SECRET}": "/api/booking/v1/waitlist/leave/[redacted]",
    f"/api/reminders/v1/unsubscribe?token={SECRET}": "/api/reminders/v1/unsubscribe?[redacted]",
    f"/api/reminders/v1/unsubscribe?x=1&Token={SECRET}": "/api/reminders/v1/unsubscribe?[redacted]",
}
PLAIN = "/api/booking/v1/availability?from=2026-01-01"


def test_the_server_logs_with_the_redacting_format_and_never_the_raw_request_line():
    text = CONF.read_text()
    assert re.search(r"^\s*access_log \S+ redacted;", text, re.M), "the server must log with the redacted format"
    log_format = re.search(r"log_format redacted (.*?);", text, re.S).group(1)
    assert "$redacted_uri" in log_format
    for leaky in ("$request ", "$request\"", "$request'", "$request_uri", "$uri", "$args", "$query_string", "$http_referer"):
        assert leaky not in log_format, f"{leaky} would log a secret"


def test_every_route_with_a_token_is_covered():
    """A new route with a token in its path must get a redaction rule (and a line in SECRET_REQUESTS)."""
    from kapbook_booking.config import BookingConfig
    from kapbook_booking.bootstrap import bootstrap
    from kapbook_booking.entrypoints.app import create_app

    app = create_app(bootstrap(BookingConfig(database_url="sqlite://", env="test")))
    with_token = {rule.rule for rule in app.url_map.iter_rules() if "token" in rule.rule}
    assert with_token == {
        "/manage/<string:token>", "/manage/<string:token>/cancel", "/manage/<string:token>/reschedule",
        "/api/booking/v1/manage/<string:token>", "/api/booking/v1/manage/<string:token>/cancel",
        "/api/booking/v1/manage/<string:token>/reschedule", "/api/booking/v1/calendars/<string:token>.ics",
        # treatment series: the series behind a session's manage link
        "/api/booking/v1/manage/<string:token>/series", "/api/booking/v1/manage/<string:token>/series/cancel-remaining",
        "/my/sign-in/<string:token>",
        "/staff/reset-password/<string:token>",
        "/manage/<string:token>/series/cancel-remaining",
        # the waitlist's emailed links: an offer (take it, let it go, leave) and leaving
        "/waitlist/offers/<string:token>", "/waitlist/offers/<string:token>/claim",
        "/waitlist/offers/<string:token>/decline", "/waitlist/offers/<string:token>/leave",
        "/waitlist/leave/<string:token>",
        "/api/booking/v1/waitlist/offers/<string:token>", "/api/booking/v1/waitlist/offers/<string:token>/claim",
        "/api/booking/v1/waitlist/offers/<string:token>/decline", "/api/booking/v1/waitlist/leave/<string:token>",
    }, with_token


def _nginx() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found:
        return found
    if os.environ.get("KAPBOOK_REQUIRE_REAL_SERVICES") == "1":
        pytest.fail("nginx is required (KAPBOOK_REQUIRE_REAL_SERVICES=1); .ci/system-packages.sh installs nginx-light")
    pytest.skip("nginx is not installed (apt-get install nginx-light)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Stub(BaseHTTPRequestHandler):
    def _answer(self):
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def gateway(tmp_path):
    nginx = _nginx()
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    port = _free_port()
    access_log = tmp_path / "access.log"
    site = CONF.read_text()
    site = re.sub(r"server [\w-]+:8000;", f"server 127.0.0.1:{stub.server_address[1]};", site)
    site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    site = site.replace("/var/log/nginx/access.log", str(access_log))
    (tmp_path / "site.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'} warn;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  access_log {tmp_path / 'default-access.log'};\n"
        f"  client_body_temp_path {temp['body']}; proxy_temp_path {temp['proxy']}; fastcgi_temp_path {temp['fastcgi']};\n"
        f"  uwsgi_temp_path {temp['uwsgi']}; scgi_temp_path {temp['scgi']};\n"
        f"  include {tmp_path / 'site.conf'};\n"
        "}\n"
    )
    command = [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", access_log
    finally:
        process.terminate()
        process.wait(timeout=10)
        stub.shutdown()


def test_a_real_nginx_logs_no_token(gateway):
    base, access_log = gateway
    for path in [*SECRET_REQUESTS, PLAIN]:
        with urllib.request.urlopen(base + path, timeout=5) as answer:
            assert answer.status == 200
    request = urllib.request.Request(base + f"/manage/{SECRET}/cancel", data=b"", method="POST",
                                     headers={"Referer": base + f"/manage/{SECRET}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    deadline = time.monotonic() + 5
    while len(access_log.read_text().splitlines()) < len(SECRET_REQUESTS) + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = access_log.read_text().splitlines()
    assert len(lines) == len(SECRET_REQUESTS) + 2, lines
    assert not [line for line in lines if SECRET.lower() in line.lower()], lines
    for line, kept in zip(lines, [*SECRET_REQUESTS.values(), PLAIN]):
        assert f" {kept} HTTP/1.1\"" in line, (kept, line)
    assert '"POST /manage/[redacted]/cancel HTTP/1.1"' in lines[-1]
