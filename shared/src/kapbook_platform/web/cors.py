"""CORS for the public API, so a clinic's own website can embed the booking widget.

Only origins on the service's allowlist get CORS headers; credentials are never allowed, and
``Authorization`` is not an allowed request header, so staff routes stay same-origin only.
A preflight from any other origin is refused with 403.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, Response, request

from kapbook_platform.config import ConfigError
from kapbook_platform.web.errors import error_response

ALLOWED_METHODS = "GET, POST, DELETE"
ALLOWED_HEADERS = "Content-Type, Idempotency-Key, X-Correlation-ID"
EXPOSED_HEADERS = "Retry-After, X-Correlation-ID"
PREFLIGHT_MAX_AGE = "600"
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


def normalise_origin(origin: str) -> str:
    """``https://Clinic.example/`` and ``https://clinic.example`` are the same origin."""
    return origin.strip().rstrip("/").lower()


def install_cors(app: Flask, origins: Iterable[str], path_prefix: str) -> None:
    """Answer cross-origin requests to paths under ``path_prefix`` from the allowlisted ``origins``."""
    allowed = frozenset(normalise_origin(origin) for origin in origins if origin.strip())
    for origin in allowed:
        if not _ORIGIN.match(origin):
            raise ConfigError(f"CORS origins are scheme://host[:port] with no path, not {origin!r}")

    def applies() -> bool:
        return request.path.startswith(path_prefix) and "Origin" in request.headers

    @app.before_request
    def _preflight():
        if request.method != "OPTIONS" or not applies() or "Access-Control-Request-Method" not in request.headers:
            return None
        if normalise_origin(request.headers["Origin"]) not in allowed:
            response = error_response(403, "origin_not_allowed", "This website is not allowed to use the API.")
            response.headers["Vary"] = "Origin"
            return response
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response

    @app.after_request
    def _allow_origin(response: Response) -> Response:
        if not request.path.startswith(path_prefix):
            return response
        response.vary.add("Origin")
        if applies() and normalise_origin(request.headers["Origin"]) in allowed:
            response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response
