"""Inputs are read as written: date-times with their time zone, integers as integers, statuses as documented.

The fuzzer (issue 20) found `?to=0.5` read as a Unix time and `{"capacity": {"phone": false}}` stored as 0,
and four statuses the routes send without declaring them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import agent_request, order_request, ticket_request
from tests.unit.router.conftest import RouterHarness


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "0.5"}, "query.to"),
        ({"from": "1700000000"}, "query.from"),
        ({"to": "2026-11-01T00:00:00"}, "query.to"),  # no time zone: which of 26 hours?
        ({"from": "2026-11-01"}, "query.from"),
        ({"to": "tomorrow"}, "query.to"),
    ],
)
async def test_stats_take_only_date_times_with_a_time_zone(
    router: RouterHarness, query: dict[str, str], field: str
) -> None:
    response = await router.client.get("/v1/stats", params=query)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_stats_accept_an_iso_8601_range_with_offsets(router: RouterHarness) -> None:
    response = await router.client.get(
        "/v1/stats", params={"from": "2026-11-01T00:00:00+01:00", "to": "2026-11-08T00:00:00Z"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["from"].startswith("2026-10-31T23:00:00")


@pytest.mark.parametrize("ordered_at", [1_700_000_000, 0.5, "1700000000", "2026-11-02T10:15:00", True])
async def test_an_order_time_that_is_not_an_iso_date_time_with_zone_is_a_422(
    router: RouterHarness, ordered_at: Any
) -> None:
    response = await router.post("/v1/orders", order_request(ordered_at=ordered_at))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.ordered_at"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"capacity": {"phone": False}}, "body.capacity.phone"),
        ({"capacity": {"chat": True}}, "body.capacity.chat"),
        ({"capacity": {"chat": "2"}}, "body.capacity.chat"),
        ({"capacity": {"chat": 2.0}}, "body.capacity.chat"),
        ({"skills": {"cards": True}}, "body.skills.cards"),
    ],
)
async def test_an_agents_integer_maps_take_integers_only(
    router: RouterHarness, change: dict[str, Any], field: str
) -> None:
    agent = await router.agent()
    response = await router.client.patch(f"/v1/agents/{agent['id']}", json=change)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert (await router.client.get(f"/v1/agents/{agent['id']}")).json()["capacity"] == agent["capacity"]


async def test_a_new_agents_capacity_of_false_is_a_422(router: RouterHarness) -> None:
    response = await router.post("/v1/agents", agent_request(capacity={"phone": False}))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.capacity.phone"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/intents/billing/profile", {"required_skills": {"cards": True}}, "body.required_skills.cards"),
        ("/v1/api-keys", {"name": "k", "scopes": ["ops"], "rate_limit_per_minute": True}, "body.rate_limit_per_minute"),
    ],
)
async def test_other_integers_in_bodies_refuse_booleans(
    router: RouterHarness, path: str, body: dict[str, Any], field: str
) -> None:
    send = router.client.put if path.endswith("/profile") else router.client.post
    response = await send(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_an_order_line_quantity_of_true_is_a_422(router: RouterHarness) -> None:
    line = {"sku": "KB-1", "description": "Keyboard", "quantity": True, "unit_price": "10.00"}
    response = await router.post("/v1/orders", order_request(lines=[line]))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.lines.0.quantity"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/v1/agents", "409"),
        ("post", "/v1/intents/train", "409"),
        ("post", "/v1/tickets/{ticket_id}/reopen", "409"),
        ("get", "/v1/customers", "404"),
    ],
)
async def test_statuses_the_routes_send_are_declared_as_problems(
    router: RouterHarness, method: str, path: str, status: str
) -> None:
    spec: dict[str, Any] = (await router.client.get("/openapi.json")).json()
    response = spec["paths"][path][method]["responses"].get(status)
    assert response is not None, f"{method.upper()} {path} does not declare {status}"
    assert response["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


async def test_the_declared_statuses_are_the_ones_sent(router: RouterHarness) -> None:
    first = await router.post("/v1/agents", agent_request(email="grace@contact.example"))
    taken = await router.post("/v1/agents", agent_request(email="grace@contact.example"))
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    reopened = await router.post(f"/v1/tickets/{ticket['id']}/reopen", {"reason": "again"})
    unknown = await router.client.get("/v1/customers", params={"email": "nobody@example.com"})
    assert first.status_code == 201
    assert (taken.status_code, taken.json()["type"].rsplit("/", 1)[-1]) == (409, "agent-email-taken")
    assert reopened.status_code == 409
    assert unknown.status_code == 404
