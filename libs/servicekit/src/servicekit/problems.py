"""RFC 9457 problem details: the one mapping from errors to HTTP responses.

Domain code raises :class:`Problem` (or a subclass); validation errors name the field at fault.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

from contracts.limits import INT64_MAX
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://cdp.example/problems/"


class Problem(Exception):
    """An error the caller can act on. ``code`` is a stable slug used in the problem type."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        # HTTP headers to answer with (e.g. Retry-After), beside the problem body
        self.headers: dict[str, str] = {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body = {
            "type": TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extensions,
        }
        if instance:
            body["instance"] = instance
        return body


class NotFound(Problem):
    status, code, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, code, title = 409, "conflict", "Conflict"


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(Problem):
    status, code, title = 403, "forbidden", "Not allowed"


class Invalid(Problem):
    """Input that breaks a rule; ``errors`` lists ``{field, message, type}``."""

    status, code, title = 422, "validation-error", "Invalid input"

    @classmethod
    def from_errors(cls, errors: Sequence[Mapping[str, Any]]) -> Invalid:
        listed = validation_errors(errors)
        fields = ", ".join(e["field"] or "body" for e in listed)
        return cls(f"invalid input: {fields}", errors=listed)


@overload
def if_match_version(if_match: str | None, required: Literal[True] = True) -> int: ...


@overload
def if_match_version(if_match: str | None, required: bool) -> int | None: ...


def if_match_version(if_match: str | None, required: bool = True) -> int | None:
    """The version an ``If-Match: "<version>"`` header names (a weak ``W/`` prefix is allowed):
    428 without one when it is required, 400 when it is not a quoted number."""
    if if_match is None:
        if required:
            raise Problem(
                'send If-Match: "<version>" with the version you read (its ETag)',
                status=428,
                code="precondition-required",
                title="Precondition required",
                field="If-Match",
            )
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or int(value) > INT64_MAX:
        raise Problem(
            f'If-Match must be a quoted version number such as "3", not {if_match!r}',
            code="bad-if-match",
            field="If-Match",
        )
    return int(value)


def problem_response(
    problem: Problem, request: Request | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    headers = dict(headers or {})
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    headers.update(problem.headers)
    return JSONResponse(
        problem.body(str(request.url.path) if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{field, message, type}``; ``field`` is a dotted path, or for a rule
    over several fields the ones it names (``ctx["fields"]``), comma-separated."""
    out = []
    for err in errors:
        path = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        named = (err.get("ctx") or {}).get("fields")
        if named:
            field = ",".join(f"{path}.{n}" if path else str(n) for n in named)
        else:
            field = path
        out.append({"field": field or None, "message": err.get("msg"), "type": err.get("type")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(Invalid.from_errors(list(exc.errors())), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette still logs the exception; the caller gets problem details, not a bare text.
        return problem_response(
            Problem(
                "an unexpected error; it is logged under this request's correlation id",
                status=500,
                code="internal-error",
                title="Internal error",
            ),
            request,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            Problem(
                str(exc.detail),
                status=exc.status_code,
                code=f"http-{exc.status_code}",
                title=str(exc.detail),
            ),
            request,
            headers=_allow(request) if exc.status_code == 405 else dict(exc.headers or {}),
        )


def _allow(request: Request) -> dict[str, str]:
    """A 405 says which methods the path takes (RFC 9110): those the OpenAPI document gives
    the most specific path template that matches (a named route before a pass-through's
    ``{rest}``); for a path it does not describe, each method some route answers (Starlette's
    own Allow names only the first route's). Routes left out of the document (the console's
    page) do not count."""
    path = request.scope["path"]
    best: tuple[tuple[bool, int], list[str]] | None = None
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _template(template).fullmatch(path):
            rank = ("{rest}" not in template, template.count("/") - template.count("{"))
            if best is None or rank > best[0]:
                best = (rank, [m.upper() for m in operations if m.upper() in METHODS])
    if best is not None:
        return {"Allow": ", ".join(m for m in METHODS if m in best[1])}
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        for route in request.app.router.routes:
            if getattr(route, "include_in_schema", True) is False:
                continue
            if route.matches(scope)[0] == Match.FULL:
                allowed.append(method)
                break
    return {"Allow": ", ".join(allowed)}


@functools.lru_cache(maxsize=1024)
def _template(template: str) -> re.Pattern[str]:
    pattern = re.escape(template).replace(r"\{rest\}", ".*")
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern))


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
