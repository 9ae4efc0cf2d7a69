"""Bad input gets a problem+json naming the field, and nothing is stored or published."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from services.router.tickets.models import Ticket
from shared.messaging.tables import outbox
from tests.factories import ticket_request
from tests.openapi_documents import concrete_path, openapi_operations, resolved
from tests.unit.conftest import Stack


async def assert_nothing_written(stack: Stack) -> None:
    async with stack.runtimes["router"].database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert await session.scalar(select(func.count()).select_from(outbox)) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in ticket_request().items() if k != "subject"}, "body.subject"),
        (ticket_request(subject="   "), "body.subject"),
        (ticket_request(subject="x" * 301), "body.subject"),
        (ticket_request(channel="fax"), "body.channel"),
        (ticket_request(priority=3), "body.priority"),
        (ticket_request(customer={}), "body.customer"),
        (ticket_request(customer={"email": "not-an-email"}), "body.customer.email"),
        (ticket_request(customer={"phone": "call me maybe"}), "body.customer.phone"),
        (ticket_request(customer={"external_id": "no-system-prefix"}), "body.customer.external_id"),
        (ticket_request(attributes={"nested": {"no": "objects"}}), "body.attributes.nested"),
        (ticket_request(attributes={"n": 2**53}), "body.attributes.n"),
        (ticket_request(attributes={"n": -(2**63) + 1}), "body.attributes.n"),
        (ticket_request(attributes={"k" * 101: 1}), "body.attributes"),
        (ticket_request(attributes={"": 1}), "body.attributes"),
        (ticket_request(attributes={"text": "x" * 2_001}), "body.attributes.text"),
        (ticket_request(attributes={f"k{i}": i for i in range(51)}), "body.attributes"),
        (ticket_request(unexpected="field"), "body.unexpected"),
        ([1, 2, 3], "body"),
    ],
    ids=[
        "missing-subject",
        "blank-subject",
        "long-subject",
        "unknown-channel",
        "wrong-type",
        "no-identity",
        "bad-email",
        "bad-phone",
        "bad-external-id",
        "nested-attribute",
        "attribute-integer-beyond-2^53",
        "attribute-integer-near-2^63",
        "long-attribute-key",
        "empty-attribute-key",
        "long-attribute-text",
        "too-many-attributes",
        "unknown-field",
        "not-an-object",
    ],
)
async def test_invalid_ticket_is_a_422_problem_naming_the_field(stack: Stack, body: Any, field: str) -> None:
    response = await stack.router.post("/v1/tickets", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["instance"] == "/v1/tickets"
    assert any(error["field"].startswith(field) for error in problem["errors"]), problem["errors"]
    await assert_nothing_written(stack)


async def test_malformed_json_is_a_400_problem(stack: Stack) -> None:
    response = await stack.router.post(
        "/v1/tickets", content=b'{"customer": {', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/malformed-json")
    await assert_nothing_written(stack)


async def test_an_oversized_body_is_a_413_problem(stack: Stack) -> None:
    limit = stack.runtimes["router"].settings.max_body_bytes
    body = ticket_request(description="x" * (limit + 1))
    response = await stack.router.post("/v1/tickets", json=body)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    await assert_nothing_written(stack)


async def test_an_oversized_streamed_body_without_length_is_a_413_problem(stack: Stack) -> None:
    limit = stack.runtimes["router"].settings.max_body_bytes

    async def chunks() -> Any:
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000

    response = await stack.router.post("/v1/tickets", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    await assert_nothing_written(stack)


async def test_an_invalid_ticket_id_in_the_path_is_a_422_problem(stack: Stack) -> None:
    response = await stack.router.get("/v1/tickets/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.ticket_id"


async def test_an_invalid_idempotency_key_is_a_422_problem(stack: Stack) -> None:
    response = await stack.router.post("/v1/tickets", json=ticket_request(), headers={"Idempotency-Key": "a b"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "header.Idempotency-Key"
    await assert_nothing_written(stack)


async def test_an_unknown_route_is_a_404_problem(stack: Stack) -> None:
    response = await stack.router.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


# The services the walks below cover.
WALKED_SERVICES = ["knowledge", "notifier", "router"]
# The fields of an edit (PATCH or PUT) where null means "clear it"; a null anywhere else in an edit is a 422
# (an omitted field is kept). A field added here needs a test that clearing it works.
NULL_CLEARS: dict[str, dict[str, set[str]]] = {
    "knowledge": {"PATCH /v1/known-issues/{issue_id}": {"workaround", "fix", "fix_version"}},
    "notifier": {"PUT /v1/customers/{customer_id}/preferences": {"email", "preferred_channel"}},
    "router": {
        "PATCH /v1/agents/{agent_id}": {"team"},
        "PUT /v1/customers/{customer_id}/owner": {"agent_id"},
        "PUT /v1/intents/{intent}/profile": {"likely_resolution", "priority"},
    },
}


def _json_body(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    return resolved(document, content["application/json"]["schema"]) if "application/json" in content else None


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_nullable(sub) for sub in schema.get("anyOf", []))


def _unbounded(document: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """Where a schema accepts a string, integer or list without a documented limit."""
    schema = resolved(document, schema)
    found = [f for sub in schema.get("anyOf", []) + schema.get("allOf", []) for f in _unbounded(document, sub, where)]
    kind = schema.get("type")
    bounded_by_form = {"maxLength", "enum", "const"} & schema.keys() or schema.get("format") in ("uuid", "date-time")
    if kind == "string" and not bounded_by_form:
        found.append(f"{where}: a string without maxLength")
    if kind == "integer" and not {"minimum", "maximum"} <= schema.keys():
        found.append(f"{where}: an integer without minimum and maximum")
    if kind == "array":
        found += [] if "maxItems" in schema else [f"{where}: a list without maxItems"]
        found += _unbounded(document, schema.get("items", {}), f"{where}.item")
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(document, sub, f"{where}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _unbounded(document, schema["additionalProperties"], f"{where}.value")
    return found


@pytest.mark.parametrize("service", WALKED_SERVICES)
async def test_a_null_for_a_field_that_needs_a_value_is_a_422_naming_it(stack: Stack, service: str) -> None:
    client = stack.clients[service]
    document = (await client.get("/openapi.json")).json()
    walked, misses = [], []
    for method, path, operation in openapi_operations(document):
        body = _json_body(document, operation)
        for field, schema in (body or {}).get("properties", {}).items():
            if _nullable(schema):
                continue
            walked.append(f"{method} {path} {field}")
            response = await client.request(method, concrete_path(path, operation), json={field: None})
            errors = response.json().get("errors", []) if response.status_code == 422 else []
            if f"body.{field}" not in {error["field"] for error in errors}:
                misses.append(f"{method} {path} {field}: {response.status_code} {response.text[:300]}")
    assert len(walked) >= 10, walked
    assert misses == []


@pytest.mark.parametrize("service", WALKED_SERVICES)
async def test_an_edit_takes_null_only_where_null_clears_a_value(stack: Stack, service: str) -> None:
    document = (await stack.clients[service].get("/openapi.json")).json()
    nullable = {
        f"{method} {path}": {field for field, schema in body.get("properties", {}).items() if _nullable(schema)}
        for method, path, operation in openapi_operations(document)
        if method in ("PATCH", "PUT") and (body := _json_body(document, operation)) is not None
    }
    assert {operation: fields for operation, fields in nullable.items() if fields} == NULL_CLEARS[service]


@pytest.mark.parametrize("service", WALKED_SERVICES)
async def test_every_string_integer_and_list_the_api_accepts_has_a_documented_bound(stack: Stack, service: str) -> None:
    document = (await stack.clients[service].get("/openapi.json")).json()
    unbounded = []
    for method, path, operation in openapi_operations(document):
        for parameter in operation.get("parameters", []):
            where = f"{method} {path} {parameter['in']}.{parameter['name']}"
            unbounded += _unbounded(document, parameter["schema"], where)
        if (body := _json_body(document, operation)) is not None:
            unbounded += _unbounded(document, body, f"{method} {path} body")
    assert unbounded == []


@pytest.mark.parametrize("service", WALKED_SERVICES)
async def test_an_integer_beyond_its_bound_is_a_422_naming_it(stack: Stack, service: str) -> None:
    client = stack.clients[service]
    document = (await client.get("/openapi.json")).json()
    walked, misses = [], []
    for method, path, operation in openapi_operations(document):
        concrete = concrete_path(path, operation)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and resolved(document, parameter["schema"]).get("type") == "integer":
                walked.append(f"{method} {path} query.{parameter['name']}")
                for huge in (2**63, 2**64):
                    response = await client.request(method, concrete, params={parameter["name"]: huge})
                    misses += _unless_named(response, f"query.{parameter['name']}")
        for field, schema in ((_json_body(document, operation) or {}).get("properties", {})).items():
            if resolved(document, schema).get("type") == "integer":
                walked.append(f"{method} {path} body.{field}")
                for huge in (2**63, 2**64):
                    misses += _unless_named(await client.request(method, concrete, json={field: huge}), f"body.{field}")
    assert walked
    assert misses == []


def _unless_named(response: Any, field: str) -> list[str]:
    errors = response.json().get("errors", []) if response.status_code == 422 else []
    named = field in {error["field"] for error in errors}
    return [] if named else [f"{response.request.method} {response.request.url} {field}: {response.status_code}"]
