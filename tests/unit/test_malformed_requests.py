"""Malformed credentials, cursors and JSON values are client errors on every service, never a 500."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import pytest

from shared.web.json_guard import body_fault
from tests.factories import ticket_request
from tests.unit.conftest import Stack
from tests.unit.test_bad_input import assert_nothing_written

PROTECTED = {"router": "/v1/agents", "knowledge": "/v1/articles", "notifier": "/v1/problems"}


@pytest.mark.parametrize("service", sorted(PROTECTED))
@pytest.mark.parametrize(
    "header",
    [
        ("Authorization", "Bearer clé-privée".encode()),
        ("X-API-Key", "ключ".encode()),
        ("Authorization", b"Bearer \xff\xfe"),
        ("X-API-Key", b"fck_" + b"a" * 300),
    ],
    ids=["utf8-bearer", "utf8-x-api-key", "latin1-bytes", "overlong"],
)
async def test_a_malformed_key_is_a_401_problem_on_every_service(
    stack: Stack, service: str, header: tuple[str, bytes]
) -> None:
    client = stack.clients[service]
    name, value = header
    response = await client.get(PROTECTED[service], headers={b"Authorization": b"", name.encode(): value})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def _cursor(*position: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(position))).decode().rstrip("=")


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("router", "/v1/customers/{id}/history"),
        ("knowledge", "/v1/articles"),
        ("knowledge", "/v1/known-issues"),
    ],
)
async def test_a_cursor_with_a_time_zone_less_time_is_a_422_naming_the_cursor(
    stack: Stack, service: str, path: str
) -> None:
    if service == "router":
        opened = await stack.router.post("/v1/tickets", json=ticket_request())
        path = path.format(id=opened.json()["customer_id"])
    naive = _cursor("2026-01-01T00:00:00", str(uuid.uuid4()))
    response = await stack.clients[service].get(path, params={"cursor": naive})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (ticket_request(attributes={"account": 2**64}), "body.attributes.account"),
        (ticket_request(attributes={"account": -(2**63) - 1}), "body.attributes.account"),
        (ticket_request(subject="card\x00declined"), "body.subject"),
        (ticket_request(attributes={"a\x00b": "x"}), "body.attributes"),
        (ticket_request(customer={"email": "ada@example.com", "name": "A\x00da"}), "body.customer.name"),
    ],
    ids=["int-over-64-bits", "int-under-64-bits", "nul-in-text", "nul-in-key", "nul-nested"],
)
async def test_values_no_route_can_store_are_a_422_naming_the_field(stack: Stack, body: Any, field: str) -> None:
    response = await stack.router.post("/v1/tickets", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    await assert_nothing_written(stack)


@pytest.mark.parametrize(
    "content",
    [b'{"subject": NaN}', b'{"subject": -Infinity}', b"[" * 5000 + b"]" * 5000],
    ids=["nan", "infinity", "deeply-nested"],
)
async def test_what_is_not_plain_json_is_a_400_problem(stack: Stack, content: bytes) -> None:
    response = await stack.router.post("/v1/tickets", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("/malformed-json")
    await assert_nothing_written(stack)


async def test_a_knowledge_import_line_with_a_nul_is_a_422_naming_its_line(stack: Stack) -> None:
    lines = [{"title": "Card declined", "body": "Check the limit", "locale": "en"}, {"title": "x\x00", "body": "b"}]
    content = b"\n".join(orjson.dumps(line) for line in lines)
    response = await stack.knowledge.post(
        "/v1/articles/import", content=content, headers={"content-type": "application/x-ndjson"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.1.title"


def test_the_guard_admits_every_64_bit_integer_and_nothing_beyond() -> None:
    assert body_fault(orjson.dumps({"n": [2**63 - 1, -(2**63)]})) is None
    assert body_fault(
        orjson.dumps({"n": [1, {"m": 2**63 - 1}]}).replace(b"9223372036854775807", b"9223372036854775808")
    ) == (
        422,
        "body.n.1.m",
        "integers must lie between -9223372036854775808 and 9223372036854775807",
    )


async def test_ordinary_bodies_pass_the_guard_unchanged(stack: Stack) -> None:
    body = ticket_request(attributes={"account": 2**53 - 1, "vip": True, "score": 0.5, "note": "naïve café"})
    response = await stack.router.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["attributes"] == body["attributes"]
