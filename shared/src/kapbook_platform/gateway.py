"""A small reverse proxy giving ``make run`` one origin, like nginx does in docker compose.

``/api/eligibility/`` goes to the eligibility service, ``/api/reminders/`` to reminders, and
everything else (``/api/booking/``, the demo page, the manage page, the staff console) to booking.
Run under gunicorn: ``gunicorn 'kapbook_platform.gateway:create_app()'``.
"""
from __future__ import annotations

import http.cookiejar
import os
from collections.abc import Iterable

import requests

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
     "transfer-encoding", "upgrade", "content-length", "content-encoding", "host"}
)


class Gateway:
    """A WSGI app forwarding each request to the upstream that owns its path prefix."""

    def __init__(self, routes: dict[str, str], default: str, timeout: float = 30.0) -> None:
        self.routes = sorted(routes.items(), key=lambda item: -len(item[0]))
        self.default = default
        self.timeout = timeout
        self.http = requests.Session()
        # A proxy must never keep cookies: one visitor's sign-in would be sent for every later visitor.
        self.http.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    def upstream_for(self, path: str) -> str:
        return next((url for prefix, url in self.routes if path.startswith(prefix)), self.default)

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING", "")
        url = self.upstream_for(path) + path + (f"?{query}" if query else "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        try:
            upstream = self.http.request(
                environ["REQUEST_METHOD"], url, headers=self._request_headers(environ), data=body,
                timeout=self.timeout, allow_redirects=False,
            )
        except requests.RequestException:
            start_response("502 Bad Gateway", [("Content-Type", "application/json")])
            return [b'{"code": "bad_gateway", "message": "The service behind this path is not answering."}']
        headers = [(k, v) for k, v in upstream.raw.headers.items() if k.lower() not in HOP_BY_HOP]
        start_response(f"{upstream.status_code} {upstream.reason}", headers)
        return [upstream.content]

    @staticmethod
    def _request_headers(environ: dict) -> dict[str, str]:
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers["X-Forwarded-For"] = environ.get("REMOTE_ADDR", "")
        headers["X-Forwarded-Host"] = environ.get("HTTP_HOST", "")
        headers["X-Forwarded-Proto"] = environ.get("wsgi.url_scheme", "http")
        return headers


def create_app() -> Gateway:
    booking = os.environ.get("GATEWAY_BOOKING_URL", "http://127.0.0.1:8081")
    return Gateway(
        routes={
            "/api/eligibility/": os.environ.get("GATEWAY_ELIGIBILITY_URL", "http://127.0.0.1:8082"),
            "/api/reminders/": os.environ.get("GATEWAY_REMINDERS_URL", "http://127.0.0.1:8083"),
        },
        default=booking,
    )
