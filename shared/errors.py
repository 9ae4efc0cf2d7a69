"""RFC 9457 problem details: every error a client sees has the same shape and names what was wrong."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.db import database_unreachable

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://firstcall.dev/problems/"
log = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One invalid input: where it is (`body.customer.email`) and what is wrong with it."""

    field: str
    message: str
    type: str


class Problem(BaseModel):
    """The problem+json body, documented in every service's OpenAPI."""

    type: str = Field(examples=[PROBLEM_BASE + "validation-error"])
    title: str = Field(examples=["Request body is invalid"])
    status: int = Field(examples=[422])
    detail: str | None = Field(None, examples=["body.subject: Field required"])
    instance: str | None = Field(None, examples=["/v1/tickets"])
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raised by service code to answer with a problem; the slug becomes the problem type URI."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors, self.headers, self.extensions = list(errors), headers, extensions


def invalid(field: str, message: str, *, type: str = "value_error") -> ProblemError:
    """A 422 naming one invalid input, shaped like FastAPI's own validation errors."""
    return invalid_fields([FieldError(field=field, message=message, type=type)])


def invalid_fields(errors: Sequence[FieldError]) -> ProblemError:
    """A 422 naming every invalid input at once."""
    detail = "; ".join(f"{error.field}: {error.message}" for error in errors[:5])
    return ProblemError(422, "validation-error", "Request is invalid", detail, errors=errors)


class NotFound(ProblemError):
    def __init__(self, what: str, identifier: object) -> None:
        super().__init__(404, "not-found", f"{what} not found", f"No {what.lower()} with id {identifier}")


class Conflict(ProblemError):
    def __init__(self, slug: str, detail: str, **extensions: Any) -> None:
        super().__init__(409, slug, "Conflict with the current state", detail, **extensions)


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """Render a problem as application/problem+json."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


MAX_FIELD_ERRORS = 100


def field_errors(exc: RequestValidationError) -> list[FieldError]:
    """Turn pydantic's error list into dotted field paths a client developer can act on."""
    return [
        FieldError(
            field=".".join(str(part) for part in err.get("loc", ())),
            message=str(err.get("msg", "invalid")),
            type=str(err.get("type", "value_error")),
        )
        for err in exc.errors()
    ]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc)
    if any(e.type == "json_invalid" for e in errors):
        return problem_response(
            request,
            status=400,
            slug="malformed-json",
            title="Request body is not valid JSON",
            detail=errors[0].message,
            errors=errors,
        )
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    if len(errors) > 5:
        detail += f"; and {len(errors) - 5} more"
    # A bulk body (20,000 intent examples) can fail everywhere: the first errors name the fault, and the
    # answer stays small; `errors_total` says how many there were.
    return problem_response(
        request,
        status=422,
        slug="validation-error",
        title="Request is invalid",
        detail=detail,
        errors=errors[:MAX_FIELD_ERRORS],
        extensions={"errors_total": len(errors)} if len(errors) > MAX_FIELD_ERRORS else None,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.status_code, "http-error")
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        headers = {"Allow": _allowed_methods(request)}
    return problem_response(request, status=exc.status_code, slug=slug, title=str(exc.detail), headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path takes (RFC 9110: a 405 lists them all), not only the first matching route's.

    Starlette answers 405 from the first route whose path matches, and a path served by several routes
    (GET and POST /v1/subscriptions) would otherwise name one of them. Each method is tried against the
    app's routes, which also sees into included routers.
    """
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


DATABASE_RETRY_AFTER_SECONDS = 5


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if database_unreachable(exc):
        # Not the client's fault and not a bug: the database is down or restarting. Nothing was written
        # (the transaction never committed), so the same request with the same Idempotency-Key is safe.
        log.warning("database unreachable on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            request,
            status=503,
            slug="database-unavailable",
            title="The service's database cannot be reached",
            detail=f"Nothing was written; retry after {DATABASE_RETRY_AFTER_SECONDS} s.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    # The client gets no internals; the log gets the traceback and the correlation id links the two.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, status=500, slug="internal-error", title="Internal server error")


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error path of a service answer with problem+json."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
