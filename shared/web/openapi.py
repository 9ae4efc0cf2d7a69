"""Every operation's OpenAPI entry says which errors it answers, in the shape and with the headers it sends.

FastAPI documents what a route returns; the errors come from layers it cannot see: the API key check (401,
403, 429), admission control (503), the body limit (413), the JSON guard and request validation (400, 422),
path lookups (404). A blanket `4XX`/`5XX` entry hid all of that, and said `application/json` where every
error is `application/problem+json`. `install_openapi` makes `app.openapi()` derive each operation's real
errors from what FastAPI generated (its security, parameters and body), so the document follows the code:
a new route is documented correctly without anyone remembering to. A route documents what only it does
(a 409, a second success status) in its own `responses=`; those entries keep their description and get the
problem shape. The rules mirror shared/web (auth, admission, middleware, json_guard) and shared/errors.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.errors import PROBLEM_BASE, PROBLEM_JSON, FieldError, Problem
from shared.logs import CORRELATION_HEADER
from shared.web.admission import _NEVER_SHED as NEVER_SHED
from shared.web.conditional import IF_NONE_MATCH_SCHEMA

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
IDEMPOTENCY_HEADER = "Idempotency-Key"
_BEARER, _API_KEY_HEADER = "HTTPBearer", "APIKeyHeader"
# FastAPI's own 422 entry (pydantic's error list as application/json): what our handlers never send.
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"
_FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")
_DIGITS = {"type": "string", "pattern": "^[0-9]+$"}

# Each header is required wherever it is documented, except Link (when there is a next page) and
# Idempotent-Replayed (on replays only).
HEADERS: dict[str, dict[str, Any]] = {
    "WWW-Authenticate": {"description": "How to authenticate: `Bearer`", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": _DIGITS},
    "RateLimit": {
        "description": "What is left of the key's limit and when the window resets "
        '(draft-ietf-httpapi-ratelimit-headers): `"per-key";r=<remaining>;t=<seconds>`',
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The key\'s limit: `"per-key";q=<requests>;w=60`',
        "schema": {"type": "string"},
    },
    CORRELATION_HEADER: {
        "description": "The caller's correlation id, or a new one; it names the request in the service's logs",
        "schema": {"type": "string"},
    },
}
HEADERS = {name: {**header, "required": True} for name, header in HEADERS.items()}
HEADERS["Link"] = {
    "description": 'On a paged list, the next page when there is one (RFC 8288): `</v1/...?...&cursor=...>; rel="next"`; '
    "the same URL as `next_cursor` in the body",
    "schema": {"type": "string"},
    "required": False,
}
HEADERS["Idempotent-Replayed"] = {
    "description": "`true` on a retry with an Idempotency-Key already used: the first answer, replayed",
    "schema": {"type": "string", "enum": ["true"]},
    "required": False,
}

# status -> (description, required headers, example problem); the statuses every route may share.
_ERRORS: dict[int, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    400: (
        "The body is not JSON, or holds NaN/Infinity, or nests deeper than the service reads",
        (),
        {"type": PROBLEM_BASE + "malformed-json", "title": "Request body is not valid JSON", "status": 400},
    ),
    401: (
        "No API key, a malformed one, or one unknown or revoked",
        ("WWW-Authenticate",),
        {
            "type": PROBLEM_BASE + "unauthorized",
            "title": "Authentication required",
            "status": 401,
            "detail": "The API key is unknown or revoked.",
        },
    ),
    403: (
        "The API key lacks the scope this operation needs",
        ("RateLimit", "RateLimit-Policy"),
        {
            "type": PROBLEM_BASE + "forbidden",
            "title": "The API key lacks the scope for this operation",
            "status": 403,
            "detail": "Needs one of: supervisor.",
        },
    ),
    404: (
        "Nothing has the id in the path",
        (),
        {"type": PROBLEM_BASE + "not-found", "title": "Ticket not found", "status": 404},
    ),
    413: (
        "The body is larger than the service accepts (`FIRSTCALL_MAX_BODY_BYTES`)",
        (),
        {"type": PROBLEM_BASE + "payload-too-large", "title": "Request body too large", "status": 413},
    ),
    422: (
        "An input is invalid (each one named in `errors`), or the Idempotency-Key was used for another request",
        (),
        {
            "type": PROBLEM_BASE + "validation-error",
            "title": "Request is invalid",
            "status": 422,
            "detail": "body.subject: Field required",
            "errors": [{"field": "body.subject", "message": "Field required", "type": "missing"}],
        },
    ),
    429: (
        "The API key has spent its per-minute limit; retry after `Retry-After` seconds",
        ("Retry-After", "RateLimit", "RateLimit-Policy"),
        {"type": PROBLEM_BASE + "rate-limited", "title": "Too many requests", "status": 429},
    ),
    503: (
        "The process is at capacity: nothing was read or written; retry after `Retry-After` seconds",
        ("Retry-After",),
        {"type": PROBLEM_BASE + "overloaded", "title": "The service is at capacity", "status": 503},
    ),
}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json) serve the document with every operation's real errors."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_errors(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def readable_operation_id(route: APIRoute) -> str:
    """A route's operationId: its function's name in camelCase (`list_tickets` -> `listTickets`).

    FastAPI's default (`list_tickets_v1_tickets_get`) is unique but names methods of generated clients after
    paths; the function's name is what the code calls the operation, and stays when a path is reworded.
    A route's own `operation_id=` wins. tests/unit/test_operation_ids.py holds the published ids: a rename is
    a breaking change for every generated client.
    """
    first, *rest = route.name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def describe_errors(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each operation's error statuses, problem+json bodies and headers (in place)."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _add_problem_schemas(schemas)
    components.setdefault("headers", {}).update(HEADERS)
    api_key_header = _add_api_key_header_scheme(components)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            # Schemas an `ndjson_body` brought along go to components, where its references point.
            schemas.update(operation.pop("x-components", {}))
            if method == "get":
                _describe_conditional_read(operation)
            _describe_operation(path, operation, api_key_header=api_key_header)
    if _FASTAPI_422 not in orjson.dumps(document["paths"]).decode():
        for name in _FASTAPI_422_SCHEMAS:
            schemas.pop(name, None)
    link_operations(document)
    return document


def link_operations(document: dict[str, Any]) -> None:
    """OpenAPI links from each identifier an answer carries to the operations that take it in their path.

    A created ticket's `id` feeds every `/v1/tickets/{ticket_id}...` operation, a `customer_id` every
    `{customer_id}` path, a list's first item every operation on that item: clients and tools (the fuzzer's
    stateful phase) follow them from one call to the next. Derived from names, like the rest: `id` belongs to
    the collection the path names, `<thing>_id` to the `{<thing>_id}` parameters.
    """
    schemas = document.get("components", {}).get("schemas", {})
    targets = _operations_by_parameter(document)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if not code.startswith("2") or not schema:
                    continue
                links = {
                    f"{target_id}.{parameter}": {
                        "operationId": target_id,
                        "parameters": {parameter: f"$response.body#{pointer}"},
                    }
                    for pointer, name in _identifiers(schema, schemas)
                    for target_id, parameter in targets.get(_collection(path) if name == "id" else name, [])
                    if target_id != operation.get("operationId")
                }
                if links:
                    response["links"] = links


def ndjson_body(model: type[BaseModel], *, description: str) -> dict[str, Any]:
    """A route's `openapi_extra` for a body of JSON lines, one `model` per line.

    OpenAPI 3.1 has no word for a sequence of documents: the schema is the array the lines make, which
    tools can generate and write one item per line.
    """
    item = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    definitions = item.pop("$defs", {})
    schema = {"type": "array", "items": item, "description": description}
    return {
        "requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": schema}}},
        "x-components": definitions,
    }


def _add_problem_schemas(schemas: dict[str, Any]) -> None:
    _, definitions = models_json_schema(
        [(Problem, "serialization"), (FieldError, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    schemas.update(definitions.get("$defs", {}))


def _add_api_key_header_scheme(components: dict[str, Any]) -> bool:
    """Keys are also accepted in `X-API-Key` (shared/web/auth.py): say so beside the bearer scheme."""
    schemes = components.get("securitySchemes", {})
    if _BEARER not in schemes:
        return False
    schemes[_API_KEY_HEADER] = {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same API key, for clients that cannot send an Authorization header",
    }
    return True


def _describe_operation(path: str, operation: dict[str, Any], *, api_key_header: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for blanket in ("4XX", "5XX", "default"):
        responses.pop(blanket, None)
    secured = any(_BEARER in requirement for requirement in operation.get("security", []))
    if secured and api_key_header:
        operation["security"] = [{_BEARER: []}, {_API_KEY_HEADER: []}]
    for status in _error_statuses(path, operation, secured=secured):
        _document_error(responses, status)
    for code, response in responses.items():
        headers = response.setdefault("headers", {})
        if int(code) >= 400:
            _as_problem(response)
        else:
            headers.update(_success_headers(operation, secured=secured))
        headers[CORRELATION_HEADER] = _header(CORRELATION_HEADER)
    operation["responses"] = dict(sorted(responses.items()))


def _describe_conditional_read(operation: dict[str, Any]) -> None:
    """A read answering an ETag takes If-None-Match and answers 304 (shared/web/conditional.py's middleware)."""
    ok = operation.get("responses", {}).get("200", {})
    if "ETag" not in ok.get("headers", {}):
        return
    operation.setdefault("parameters", []).append(
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "The ETag of a representation already held: while it is current, a 304 without a body",
            "schema": IF_NONE_MATCH_SCHEMA,
        }
    )
    operation["responses"]["304"] = {
        "description": "Not modified: the representation still has the ETag named in If-None-Match",
        "headers": {"ETag": {"description": "the current ETag", "schema": {"type": "string"}, "required": True}},
    }


def _error_statuses(path: str, operation: dict[str, Any], *, secured: bool) -> list[int]:
    parameters = operation.get("parameters", [])
    body_types = operation.get("requestBody", {}).get("content", {})
    statuses = []
    if any("json" in media_type for media_type in body_types):
        statuses.append(400)
    if secured:
        statuses += [401, 403, 429]
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses.append(404)
    if body_types:
        statuses.append(413)
    if parameters or body_types:
        statuses.append(422)
    if path not in NEVER_SHED:
        statuses.append(503)
    return statuses


def _document_error(responses: dict[str, Any], status: int) -> None:
    description, headers, example = _ERRORS[status]
    response = responses.get(str(status))
    if response is None or _is_fastapi_422(response):
        response = responses[str(status)] = {"description": description}
    response.setdefault("content", {}).setdefault(PROBLEM_JSON, {}).setdefault("example", example)
    response.setdefault("headers", {}).update({name: _header(name) for name in headers})


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == _FASTAPI_422)


def _as_problem(response: dict[str, Any]) -> None:
    """An error answers problem+json: a route's own entry keeps its description and gets the problem shape."""
    content: dict[str, Any] = response.setdefault("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema not in (None, {}, PROBLEM_REF):
        return  # a route documenting a body of its own (the readiness report) knows what it sends
    content.pop("application/json", None)
    content.setdefault(PROBLEM_JSON, {})["schema"] = PROBLEM_REF


def _success_headers(operation: dict[str, Any], *, secured: bool) -> dict[str, Any]:
    headers = {}
    if secured:
        headers["RateLimit"] = _header("RateLimit")
        headers["RateLimit-Policy"] = _header("RateLimit-Policy")
    if any(p["in"] == "header" and p["name"] == IDEMPOTENCY_HEADER for p in operation.get("parameters", [])):
        headers["Idempotent-Replayed"] = _header("Idempotent-Replayed")
    if any(p["in"] == "query" and p["name"] == "cursor" for p in operation.get("parameters", [])):
        headers["Link"] = _header(
            "Link"
        )  # every list that takes a cursor pages the same way (shared/web/pagination.py)
    return headers


def _header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


_ONE_PARAMETER = re.compile(r"^(?P<collection>[^{}]*)/\{(?P<name>\w+)\}(?:/[^{}]*)?$")


def _operations_by_parameter(document: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """(operationId, parameter) of every operation with one path parameter, under its name and its collection."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path, operations in document.get("paths", {}).items():
        match = _ONE_PARAMETER.match(path)
        if match is None:
            continue
        for operation in operations.values():
            target = (operation["operationId"], match["name"])
            found.setdefault(match["name"], []).append(target)
            found.setdefault(match["collection"], []).append(target)
    return found


def _collection(path: str) -> str:
    """What an `id` in an answer names: the item of `/v1/tickets` or `/v1/tickets/{ticket_id}`; else nothing."""
    match = _ONE_PARAMETER.match(path)
    if match is None:
        return path
    return match["collection"] if path.endswith("}") else path


def _identifiers(schema: dict[str, Any], schemas: dict[str, Any]) -> list[tuple[str, str]]:
    """(JSON pointer, name) of the identifiers an answer always carries: its own, and its lists' first item's.

    An `id` counts at the top, in a page's `items` and in a bare list (the same collection); `*_id` in any list.
    """
    resolved = _resolved(schema, schemas)
    if resolved.get("type") == "array":
        return [(f"/0{pointer}", name) for pointer, name in _identifiers(resolved.get("items", {}), schemas)]
    found = []
    for name, field in _properties(resolved, schemas).items():
        if _is_identifier(name, field, schemas):
            found.append((f"/{name}", name))
        items = _resolved(field, schemas).get("items")
        if _resolved(field, schemas).get("type") == "array" and items:
            found += [
                (f"/{name}/0/{inner}", inner)
                for inner, item in _properties(items, schemas).items()
                if _is_identifier(inner, item, schemas) and (inner != "id" or name == "items")
            ]
    return found


def _is_identifier(name: str, field: dict[str, Any], schemas: dict[str, Any]) -> bool:
    return (name == "id" or name.endswith("_id")) and _resolved(field, schemas).get("type") == "string"


def _properties(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    resolved = _resolved(schema, schemas)
    required = set(resolved.get("required", []))
    return {name: field for name, field in resolved.get("properties", {}).items() if name in required}


def _resolved(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref", "")
    return dict(schemas.get(reference.rsplit("/", 1)[-1], {})) if reference else schema
