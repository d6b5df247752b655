"""Each service's OpenAPI document, as it serves it, is valid for openapi-spec-validator (a validator
nobody here wrote), at both addresses it is served from.

schemathesis (test_api_fuzzing.py) reads the same documents but forgives what it can; a client
generator or API gateway fed an invalid document may not.
"""
from __future__ import annotations

import copy

import pytest
from jsonschema_path import SchemaPath
from openapi_spec_validator.shortcuts import get_validator_cls
from referencing.exceptions import Unresolvable

from security_services import SERVICE_NAMES, build_service

pytestmark = pytest.mark.integration


def spec_errors(document: dict) -> list[str]:
    """Every error openapi-spec-validator finds in ``document`` (its version read from the document)."""
    validator = get_validator_cls(document)(SchemaPath.from_dict(document))
    errors = []
    try:
        for error in validator.iter_errors():
            errors.append(f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}")
    except Unresolvable as error:  # the validator stops at a $ref to nothing (its message quotes the whole document)
        errors.append(f"unresolvable $ref {error.ref}")
    return errors


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict[str, dict]:
    """service name -> its OpenAPI document, read from its app (test config, empty database)."""
    found = {}
    for name in SERVICE_NAMES:
        service = build_service(name, tmp_path_factory.mktemp(name), migrate=False)
        try:
            served = [service.client.get(path) for path in (f"/api/{name}/openapi.json", "/openapi.json")]
        finally:
            service.close()
        assert [response.status_code for response in served] == [200, 200], name
        assert served[0].get_json() == served[1].get_json(), f"{name}: the two addresses serve different documents"
        found[name] = served[0].get_json()
    return found


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_openapi_document_is_valid(documents, name):
    document = documents[name]
    assert document["openapi"].startswith("3."), document["openapi"]
    assert document["paths"], f"{name} documents no path"
    assert spec_errors(document) == []


def test_the_validator_finds_what_is_wrong_in_a_broken_document(documents):
    """A document missing an operation's responses and pointing at a schema that does not exist is refused."""
    broken = copy.deepcopy(documents["booking"])
    path, operations = next(iter(broken["paths"].items()))
    operation = next(value for method, value in operations.items() if method in {"get", "post", "put", "patch", "delete"})
    del operation["responses"]
    broken["paths"][f"{path}/broken"] = {"get": {"responses": {"200": {
        "description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nowhere"}}}}}}}

    errors = spec_errors(broken)
    assert any("responses" in error for error in errors), errors
    assert any("Nowhere" in error for error in errors), errors
