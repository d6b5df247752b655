"""The OpenAPI document states every status an operation answers with, and each error's body.

flask-smorest documents a catch-all ``default`` error response on every operation; with it, no
status code can be told apart from a documented one, so API fuzzers cannot find an undocumented
one either. Kapbook's services leave it out and document each status instead: routes name theirs
with ``alt_response``, and this plugin adds what every operation with a JSON body can answer
(400 for a body that is not JSON, 413 for one over the size limit) and gives every error response
without a body of its own the shared error shape.
"""
from __future__ import annotations

from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin

from kapbook_platform.web.errors import ErrorSchema

BODY_ERRORS = {
    400: "The body is not valid JSON (bad_request)",
    413: "The body is larger than 1 MiB (payload_too_large)",
}


class ErrorResponsesPlugin(BasePlugin):
    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec

    def _error_content(self) -> dict[str, Any]:
        marshmallow = next(plugin for plugin in self.spec.plugins if isinstance(plugin, MarshmallowPlugin))
        return {"application/json": {"schema": marshmallow.converter.resolve_nested_schema(ErrorSchema)}}

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                for status, description in BODY_ERRORS.items():
                    if status not in responses and str(status) not in responses:
                        responses[status] = {"description": description}
            for status, response in responses.items():
                if int(status) >= 400 and isinstance(response, dict) and "content" not in response and "$ref" not in response:
                    response["content"] = self._error_content()
