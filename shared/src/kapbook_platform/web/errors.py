"""One JSON error shape everywhere: ``{"code", "message", "errors"?}``."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from marshmallow import Schema, fields
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from kapbook_platform.database import is_database_unavailable

log = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_SECONDS = 2

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    503: "service_unavailable",
}


class ErrorSchema(Schema):
    """The body of every error response."""

    code = fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "What went wrong, for people"})
    errors = fields.Dict(metadata={"description": "Field errors (422): field name to messages"})


class ApiError(Exception):
    """An error a use case or route raises on purpose; it becomes a response in the shared shape."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: dict | None = None,
        headers: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.errors = errors
        self.headers = headers or {}


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "validation_error"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"


def error_response(status: int, code: str, message: str, errors: Any = None, headers: dict | None = None):
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(exc: HTTPException) -> dict | None:
    """webargs puts messages under their location (json, query, headers); clients want fields."""
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if not isinstance(messages, dict):
        return None
    merged: dict = {}
    for location_errors in messages.values():
        if isinstance(location_errors, dict):
            merged.update(location_errors)
        else:
            merged["_body"] = location_errors
    return merged


def _http_message(exc: HTTPException, errors: dict | None) -> str:
    if exc.code == 422:
        return "Some fields are missing or invalid; see errors."
    if exc.code == 400 and errors and "_body" in errors:
        return "The request body is not valid JSON."
    return exc.description or exc.name


def handle_http_exception(exc: HTTPException):
    errors = _field_errors(exc)
    headers = dict((getattr(exc, "data", None) or {}).get("headers") or {})
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        # flask-smorest's own handler drops werkzeug's Allow header.
        headers["Allow"] = ", ".join(exc.valid_methods)
    status = exc.code or 500
    return error_response(status, HTTP_CODES.get(status, "http_error"), _http_message(exc, errors), errors, headers)


def handle_api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.errors, exc.headers)


def handle_unexpected(exc: Exception):
    log.exception("unhandled error")
    return error_response(500, "internal_error", "Something went wrong on our side; nothing was changed.")


def handle_database_error(exc: DBAPIError):
    """A database that is down or restarting is a 503 the client may retry, not a 500."""
    if not is_database_unavailable(exc):
        return handle_unexpected(exc)
    log.warning("database unavailable", extra={"error": str(exc.orig)[:300]})
    return error_response(503, "service_unavailable", "The service is briefly unavailable; please try again in a moment.",
                          headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
