"""The base Flask app of every service: config, logging, errors, correlation ids, health, OpenAPI."""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from flask import Flask, g, jsonify, request
from flask_smorest import Api

from kapbook_platform.config import PlatformConfig
from kapbook_platform.logs import new_correlation_id, reset_correlation_id, set_correlation_id
from kapbook_platform.web.cors import install_cors
from kapbook_platform.web.errors import ErrorSchema, register_error_handlers
from kapbook_platform.web.headers import install_security_headers
from kapbook_platform.web.openapi import ErrorResponsesPlugin
from kapbook_platform.web.proxies import install_proxy_fix
from kapbook_platform.web.ratelimit import install_rate_limits

log = logging.getLogger("kapbook.http")
CORRELATION_HEADER = "X-Correlation-ID"
_VALID_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

ReadinessCheck = Callable[[], None]


class ServiceApi(Api):
    """flask-smorest's Api documenting our error shape and each status explicitly (see web/openapi.py).

    It writes the error responses of the OpenAPI document when it is created, so the schema is set
    on the class, not on the instance after.
    """

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def create_service_app(config: PlatformConfig, title: str, description: str) -> tuple[Flask, Api]:
    """A Flask app with the shared plumbing; the service adds its blueprints to the returned Api."""
    # The import name is the service's package: Flask finds its root there, and tools that import the app's
    # module (schemathesis reads constants from it) get the service, not whatever "booking" is on sys.path.
    app = Flask(f"kapbook_{config.service_name}", static_folder=None)  # pages bring their own static blueprints
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"/api/{config.service_name}",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": description}},
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.extensions["kapbook_config"] = config
    api = ServiceApi(app, spec_kwargs={"extra_plugins": [ErrorResponsesPlugin()]})
    register_error_handlers(app)
    install_proxy_fix(app, config)
    install_security_headers(app)
    if hasattr(config, "cors_origins"):  # services a clinic's website calls declare an allowlist
        install_cors(app, config.cors_origins, f"/api/{config.service_name}/")
    _install_correlation_ids(app)
    install_rate_limits(app, config)  # after correlation ids, so a refusal is logged with one
    _install_openapi_alias(app, api)
    return app, api


def _install_correlation_ids(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        g.correlation_id = incoming if _VALID_CORRELATION_ID.match(incoming) else new_correlation_id()
        g.correlation_token = set_correlation_id(g.correlation_id)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers[CORRELATION_HEADER] = g.get("correlation_id", "")
        # The rule, never the raw path: manage tokens travel in paths and are credentials.
        rule = request.url_rule.rule if request.url_rule else "<unmatched>"
        elapsed_ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2)
        log.info("request", extra={"method": request.method, "route": rule, "status": response.status_code, "ms": elapsed_ms})
        return response

    @app.teardown_request
    def _reset(_exc) -> None:
        token = g.pop("correlation_token", None)
        if token is not None:
            reset_correlation_id(token)


def _install_openapi_alias(app: Flask, api: Api) -> None:
    """The OpenAPI document at ``/openapi.json`` too (the service's own port)."""

    @app.get("/openapi.json")
    def openapi_json():
        return jsonify(api.spec.to_dict())


def register_health(app: Flask, checks: dict[str, ReadinessCheck]) -> None:
    """``/healthz`` (the process answers) and ``/readyz`` (its database and broker answer)."""
    prefix = f"/api/{app.extensions['kapbook_config'].service_name}"

    def healthz():
        return jsonify(status="ok")

    def readyz():
        results = {name: _run_check(check) for name, check in checks.items()}
        ready = all(result == "ok" for result in results.values())
        return jsonify(status="ok" if ready else "unavailable", checks=results), 200 if ready else 503

    for path in ("", prefix):
        app.add_url_rule(f"{path}/healthz", f"healthz{path}", healthz)
        app.add_url_rule(f"{path}/readyz", f"readyz{path}", readyz)


def _run_check(check: ReadinessCheck) -> str:
    try:
        check()
    except Exception as error:
        log.warning("readiness check failed", extra={"error": repr(error)})
        return "unavailable"
    return "ok"
