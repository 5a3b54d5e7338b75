"""The answers every gateway operation can give besides its own success, declared in its
OpenAPI: problem details (application/problem+json) for authentication, authorization, a
missing object, invalid input, a body too large, the rate limit and a service that is down; and
for the pass-through routes (``{rest}``) the answers of the services behind them."""

from __future__ import annotations

from typing import Any

from servicekit.problems import PROBLEM_JSON

PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status", "detail"],
}

EVERY_OPERATION = {
    400: "A malformed request (e.g. a control character in a path segment)",
    401: "No valid bearer token",
    403: "Not allowed for the caller",
    404: "No such route or object (or one the caller may not see)",
    422: "Invalid input (problem details name the field)",
    429: "Too many requests from this caller or address (see Retry-After)",
    503: "A service behind the gateway is unavailable",
}
WITH_BODY = {
    413: "The request body exceeds the route's limit",
    415: "An unsupported content type",
}
PASSED_THROUGH = {
    201: "Created",
    202: "Accepted (a job; see Location)",
    204: "Done, nothing to answer",
    405: "The service behind takes another method here (see Allow)",
    409: "A conflict with the object's state",
    412: "The object changed since the version in If-Match",
    428: "If-Match is needed",
}
WITHOUT_TOKEN = {"/api/sign-in/options", "/api/dev/token"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def declare(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            answers = dict(EVERY_OPERATION)
            if path in WITHOUT_TOKEN:
                answers.pop(401), answers.pop(403)
            if method in ("post", "put", "patch"):
                answers |= WITH_BODY
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                if status == 422 or str(status) not in responses:
                    responses[str(status)] = _problem(description)
            if "{rest}" in path:
                _declare_rest(operation)
                for status, description in PASSED_THROUGH.items():
                    responses.setdefault(
                        str(status),
                        _problem(description) if status >= 400 else {"description": description},
                    )
    return schema


def _declare_rest(operation: dict[str, Any]) -> None:
    """A pass-through route's ``{rest}`` is the path on the service behind it, which some of
    the routes never name as a parameter; its CSV exports answer text/csv."""
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("in") == "path" and p.get("name") == "rest" for p in parameters):
        parameters.append(
            {
                "name": "rest",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "The rest of the path, as on the service behind (see summary)",
            }
        )
    ok = operation["responses"].get("200")
    if ok is not None:
        ok.setdefault("content", {}).setdefault("text/csv", {"schema": {"type": "string"}})
