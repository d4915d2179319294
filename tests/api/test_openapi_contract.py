"""The OpenAPI document describes the errors the server really sends (issue 14): one problem+json schema, on every
operation the statuses it may answer, no FastAPI validation body the server never sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ragd.api.app import create_app
from ragd.api.problems import PROBLEM
from ragd.config import Settings
from ragd.errors import RagdError, RateLimited, ValidationFailed


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def test_no_validation_body_the_server_never_sends(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    assert "HTTPValidationError" not in text and "ProblemDetails" in doc["components"]["schemas"]


def test_every_error_response_is_a_problem(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if status.startswith("4") or (status.startswith("5") and path != "/api/v1/ready"):
                assert list(response.get("content", {})) == [PROBLEM], (method, path, status)
                assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}


def test_authenticated_operations_document_401_403_429(doc: dict[str, Any]) -> None:
    authed = [(m, p, op) for m, p, op in operations(doc) if op.get("security")]
    assert len(authed) > 30
    for method, path, op in authed:
        missing = {"401", "403", "429"} - set(op["responses"])
        assert not missing, (method, path, missing)


def test_operations_with_parameters_or_a_body_document_422(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in op["responses"], (method, path)


def test_descriptions_name_the_codes_of_the_error_tree(doc: dict[str, Any]) -> None:
    upload = doc["paths"]["/api/v1/documents/upload"]["post"]["responses"]
    assert "`unsupported_media_type`" in upload["415"]["description"]
    assert "`payload_too_large`" in upload["413"]["description"]
    assert "`rate_limited`" in upload["429"]["description"]


def test_the_schema_accepts_what_the_renderer_produces(doc: dict[str, Any]) -> None:
    schema = doc["components"]["schemas"]["ProblemDetails"]
    assert set(schema["required"]) == {"type", "title", "status", "code", "detail"}
    for exc in (ValidationFailed("bad"), RateLimited("slow down", retry_after=2.5), RagdError("x")):
        body = exc.to_problem()
        assert set(schema["required"]) <= set(body)
        assert set(body) - set(schema["properties"]) == set()


def test_list_offsets_are_bounded_in_the_schema(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        for param in op.get("parameters", []):
            if param["name"] == "offset":
                assert param["schema"].get("maximum") == 10**9, (method, path)
