"""The error responses in the OpenAPI document: one ``ProblemDetails`` schema (the RFC 9457 body that
:mod:`ragd.api.errors` renders as ``application/problem+json``) and :func:`problems`, which builds a route's
``responses=`` dict from status codes, each described with the stable codes of :mod:`ragd.errors` it may carry.

    @router.get("/{doc_id}", responses=problems(*AUTH, 404))

:func:`install_openapi` finishes the document: the ``ProblemDetails`` schema goes into the components, and every
validation response FastAPI would describe with its own ``HTTPValidationError`` body becomes the problem+json one
the server really sends, so a route without ``responses=`` is still described truthfully for 422.
"""

from __future__ import annotations

import http
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from ragd import errors

PROBLEM = "application/problem+json"
_REF = "#/components/schemas/{model}"


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="Where: body, query, path, header or form, then the field path.")
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """An error (RFC 9457). ``code`` is stable and machine-readable; ``detail`` is for people."""

    model_config = ConfigDict(extra="allow", title="ProblemDetails")
    type: str = Field(description="https://ragd.dev/errors/<code>")
    title: str
    status: int = Field(ge=400, le=599)
    code: str = Field(pattern=r"^[a-z_]+$", description="Stable machine-readable code (docs/api.md).")
    detail: str
    errors: list[ValidationIssue] | None = Field(
        None, description="validation_error from request validation: every problem found.")
    retry_after: int | None = Field(None, ge=1, description="rate_limited, queue_full: seconds to wait (also "
                                      "Retry-After).")


# Codes the HTTP layer produces without a RagdError (ragd.api.errors._HTTP_CODES), by status.
_HTTP_ONLY = {404: ["not_found"], 405: ["method_not_allowed"], 422: ["validation_error"]}


def _codes_by_status() -> dict[int, list[str]]:
    """Every stable code of the error tree, grouped by HTTP status."""
    out: dict[int, list[str]] = {}
    todo: list[type[errors.RagdError]] = [errors.RagdError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not errors.RagdError and cls.code not in out.setdefault(cls.status, []):
            out[cls.status].append(cls.code)
    for status, codes in _HTTP_ONLY.items():
        out.setdefault(status, []).extend(c for c in codes if c not in out[status])
    return {s: sorted(c) for s, c in out.items()}


AUTH = (401, 403, 429)
"""What any authenticated route may answer besides its own errors (no credentials, not allowed, rate limited)."""
BODY = (400, 413)
"""A route with a request body: a body that cannot be parsed at all is a 400, one over its route's size cap
(``RAGD_LIMITS__MAX_JSON_MB``, uploads: ``RAGD_LIMITS__MAX_UPLOAD_REQUEST_MB``) a 413."""
LLM = (502, 503, 504)
"""A route that asks the language model: it answered garbage, refused, or did not answer in time."""


def problem_response(status: int) -> dict[str, Any]:
    """One ``responses`` entry: a problem+json body (:func:`install_openapi` lists the codes it may carry)."""
    return {"description": http.HTTPStatus(status).phrase,
            "content": {PROBLEM: {"schema": {"$ref": _REF.format(model="ProblemDetails")}}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's error ``responses``: ``problems(*AUTH, 404, 409)``. 422 (request validation) is always in."""
    return {s: problem_response(s) for s in sorted({*statuses, 422})}


def _problem_schemas() -> dict[str, Any]:
    schema = ProblemDetails.model_json_schema(ref_template=_REF)
    defs = schema.pop("$defs", {})
    return {**defs, "ProblemDetails": schema}


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, with problem+json wherever FastAPI would have put its own 422 body."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components.update(_problem_schemas())
        codes = _codes_by_status()  # now, when every module has defined its error classes
        for path in doc.get("paths", {}).values():
            for op in path.values():
                responses = op.get("responses", {})
                default = responses.get("422", {}).get("content", {}).get("application/json", {})
                if "HTTPValidationError" in str(default.get("schema", "")):
                    responses["422"] = problem_response(422)
                for status, response in responses.items():
                    if PROBLEM in response.get("content", {}) and codes.get(int(status)):
                        listed = ", ".join(f"`{c}`" for c in codes[int(status)])
                        response["description"] = f"{http.HTTPStatus(int(status)).phrase} (code: {listed})"
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
