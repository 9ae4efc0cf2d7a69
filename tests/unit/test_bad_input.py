"""Bad input gets a problem+json naming the field, and nothing is stored or published."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from services.router.tickets.models import Ticket
from shared.messaging.tables import outbox
from tests.factories import ticket_request
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
