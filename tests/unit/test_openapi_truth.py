"""The OpenAPI documents say what the services answer when a request fails, and real answers match them.

The documents are generated (shared/web/openapi.py); these tests hold the generator to the services'
actual behaviour: every operation documents its error statuses as problem+json, and real error answers
(no key, an unknown id, an invalid body, a spent rate limit, a wrong method) validate against the
document with schemathesis' own response checks, the ones the fuzz run (tests/fuzz) applies.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from pydantic import BaseModel
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.embedded import SERVICES
from shared.errors import PROBLEM_JSON
from shared.web.openapi import install_openapi, ndjson_body
from tests.unit.conftest import Stack

PROBLEM = {"$ref": "#/components/schemas/Problem"}
CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
NO_KEY: dict[str, str] = {"Authorization": ""}
# The one error body that is not a problem: readiness reports its checks to probes and people.
READINESS = ("/readyz", "get", "503")


async def document_of(stack: Stack, service: str) -> dict[str, Any]:
    response = await stack.clients[service].get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def filled(operation: dict[str, Any]) -> dict[str, str]:
    """A value for each path parameter: a fresh UUID (or a name) that nothing stored has."""
    values = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            schema = parameter["schema"]
            fresh = str(uuid.uuid4()) if schema.get("format") == "uuid" else schema.get("enum", ["nothing-here"])[0]
            values[parameter["name"]] = fresh
    return values


def validate(
    document: dict[str, Any], path: str, method: str, response: httpx.Response, parameters: dict[str, str] | None = None
) -> None:
    """Schemathesis' response checks (status, content type, headers, body) against the document."""
    operation = schemathesis.openapi.from_dict(document)[path][method.upper()]
    operation.Case(path_parameters=parameters or {}).validate_response(response, checks=CHECKS)


def secured(operation: dict[str, Any]) -> bool:
    return bool(operation.get("security"))


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_documents_its_errors_as_problems(stack: Stack, service: str) -> None:
    document = await document_of(stack, service)
    wrong = []
    for path, method, operation in operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if status in ("4XX", "5XX", "default"):
                wrong.append(f"{method} {path}: blanket {status}")
            elif int(status) >= 400 and (path, method, status) != READINESS:
                content = response.get("content", {})
                if list(content) != [PROBLEM_JSON] or content[PROBLEM_JSON]["schema"] != PROBLEM:
                    wrong.append(f"{method} {path} {status}: {sorted(content)}")
        expected = _expected_statuses(path, operation)
        if missing := expected - set(responses):
            wrong.append(f"{method} {path}: missing {sorted(missing)}")
    assert wrong == []


def _expected_statuses(path: str, operation: dict[str, Any]) -> set[str]:
    expected = set() if path in ("/healthz", "/readyz", "/metrics") else {"503"}
    if secured(operation):
        expected |= {"401", "403", "429"}
    if any(p["in"] == "path" for p in operation.get("parameters", [])):
        expected.add("404")
    if "requestBody" in operation:
        expected |= {"413", "422"}
    if operation.get("parameters"):
        expected.add("422")
    return expected


@pytest.mark.parametrize("service", SERVICES)
async def test_the_headers_an_answer_carries_are_documented(stack: Stack, service: str) -> None:
    document = await document_of(stack, service)
    wrong = []
    for path, method, operation in operations(document):
        responses = operation["responses"]
        if secured(operation) and "WWW-Authenticate" not in responses["401"]["headers"]:
            wrong.append(f"{method} {path} 401: WWW-Authenticate")
        if secured(operation) and not {"Retry-After", "RateLimit"} <= set(responses["429"]["headers"]):
            wrong.append(f"{method} {path} 429: Retry-After, RateLimit")
        if "503" in responses and path != "/readyz" and "Retry-After" not in responses["503"]["headers"]:
            wrong.append(f"{method} {path} 503: Retry-After")
        idempotent = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for status, response in responses.items():
            if idempotent and int(status) < 300 and "Idempotent-Replayed" not in response["headers"]:
                wrong.append(f"{method} {path} {status}: Idempotent-Replayed")
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
async def test_every_protected_operation_answers_401_without_a_key_as_documented(stack: Stack, service: str) -> None:
    document = await document_of(stack, service)
    client = stack.clients[service]
    walked = 0
    for path, method, operation in operations(document):
        if not secured(operation):
            continue
        parameters = filled(operation)
        response = await client.request(method, path.format(**parameters), headers=NO_KEY)
        assert response.status_code == 401, f"{method} {path}: {response.status_code} {response.text[:200]}"
        validate(document, path, method, response, parameters)
        walked += 1
    assert walked >= 10


@pytest.mark.parametrize("service", SERVICES)
async def test_reading_an_unknown_id_answers_404_as_documented(stack: Stack, service: str) -> None:
    document = await document_of(stack, service)
    client = stack.clients[service]
    walked = 0
    for path, method, operation in operations(document):
        in_path = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        if method != "get" or not in_path or any(p["schema"].get("format") != "uuid" for p in in_path):
            continue
        parameters = filled(operation)
        response = await client.get(path.format(**parameters))
        assert response.status_code == 404, f"GET {path}: {response.status_code} {response.text[:200]}"
        validate(document, path, method, response, parameters)
        walked += 1
    assert walked >= 2


@pytest.mark.parametrize("service", SERVICES)
async def test_a_body_of_the_wrong_type_answers_422_as_documented(stack: Stack, service: str) -> None:
    document = await document_of(stack, service)
    client = stack.clients[service]
    walked = 0
    for path, method, operation in operations(document):
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            continue
        parameters = filled(operation)
        response = await client.request(method, path.format(**parameters), json=["not", "an", "object"])
        assert response.status_code == 422, f"{method} {path}: {response.status_code} {response.text[:200]}"
        validate(document, path, method, response, parameters)
        walked += 1
    assert walked >= 3


async def test_malformed_json_and_a_body_over_the_limit_answer_as_documented(stack: Stack) -> None:
    document = await document_of(stack, "router")
    malformed = await stack.router.post(
        "/v1/tickets", content=b'{"subject": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    validate(document, "/v1/tickets", "post", malformed)
    too_large = await stack.router.post(
        "/v1/tickets", content=b" " * 2_000_000, headers={"content-type": "application/json"}
    )
    assert too_large.status_code == 413
    validate(document, "/v1/tickets", "post", too_large)


async def test_a_spent_rate_limit_answers_429_with_its_documented_headers(stack: Stack) -> None:
    issued = await stack.router.post(
        "/v1/api-keys", json={"name": "tight", "scopes": ["ops"], "rate_limit_per_minute": 1}
    )
    assert issued.status_code == 201
    key = {"Authorization": f"Bearer {issued.json()['key']}"}
    document = await document_of(stack, "router")
    first = await stack.router.get("/v1/agents", headers=key)
    assert first.status_code == 200
    validate(document, "/v1/agents", "get", first)  # its RateLimit headers are documented as required
    refused = await stack.router.get("/v1/agents", headers=key)
    assert refused.status_code == 429
    validate(document, "/v1/agents", "get", refused)


async def test_a_method_the_path_does_not_take_answers_405_naming_every_method_it_takes(stack: Stack) -> None:
    response = await stack.notifier.request("OPTIONS", "/v1/subscriptions")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["allow"] == "GET, POST"


class _Line(BaseModel):
    title: str
    tags: list[_Tag]


class _Tag(BaseModel):
    name: str


def test_a_body_of_json_lines_is_documented_as_the_array_its_lines_make() -> None:
    app = FastAPI()
    install_openapi(app)

    @app.post("/import", openapi_extra=ndjson_body(_Line, description="one line per item"))
    async def import_lines() -> None:
        return None

    document = app.openapi()
    body = document["paths"]["/import"]["post"]["requestBody"]["content"]["application/x-ndjson"]["schema"]
    assert body["type"] == "array"
    assert body["items"]["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/_Tag"}
    assert document["components"]["schemas"]["_Tag"]["required"] == ["name"]
    assert "x-components" not in document["paths"]["/import"]["post"]
    assert "400" in document["paths"]["/import"]["post"]["responses"]  # a body of JSON: malformed is a 400
