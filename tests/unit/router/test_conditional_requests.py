"""ETag on tickets, customers and agents; If-Match makes an update conditional (412 when the tag is stale)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def test_a_ticket_read_and_its_update_carry_strong_etags_that_follow_changes(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    path = f"/v1/tickets/{ticket['id']}"
    read = await router.client.get(path)
    tag = read.headers["ETag"]
    assert tag.startswith('"')
    assert not tag.startswith("W/")
    assert (await router.client.get(path)).headers["ETag"] == tag  # nothing changed, same tag
    updated = await router.client.patch(path, json={"priority": "high"}, headers={"If-Match": tag})
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] not in (tag, None)
    assert (await router.client.get(path)).headers["ETag"] == updated.headers["ETag"]


async def test_a_stale_if_match_is_a_412_with_the_current_tag_and_writes_nothing(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    path = f"/v1/tickets/{ticket['id']}"
    stale = (await router.client.get(path)).headers["ETag"]
    first = await router.client.patch(path, json={"priority": "high"}, headers={"If-Match": stale})
    second = await router.client.patch(path, json={"subject": "Overwritten"}, headers={"If-Match": stale})
    assert first.status_code == 200
    assert second.status_code == 412
    assert second.json()["type"].endswith("/precondition-failed")
    assert second.headers["ETag"] == first.headers["ETag"]
    assert (await router.client.get(path)).json()["subject"] == ticket["subject"]


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ("*", 200),
        ('"someone-else", {current}', 200),
        ("W/{current}", 412),  # weak tags never match an If-Match (RFC 9110, strong comparison)
        ('"not-the-tag"', 412),
    ],
)
async def test_if_match_follows_rfc_9110(router: RouterHarness, if_match: str, status: int) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    path = f"/v1/tickets/{ticket['id']}"
    current = (await router.client.get(path)).headers["ETag"]
    response = await router.client.patch(
        path, json={"priority": "low"}, headers={"If-Match": if_match.format(current=current)}
    )
    assert response.status_code == status, response.text


async def test_a_malformed_if_match_is_a_422_naming_the_header(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.client.patch(
        f"/v1/tickets/{ticket['id']}", json={"priority": "low"}, headers={"If-Match": "no-quotes"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "header.If-Match"


async def test_without_if_match_updates_stay_unconditional(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.client.patch(f"/v1/tickets/{ticket['id']}", json={"priority": "low"})
    assert response.status_code == 200


async def test_a_status_change_is_conditional_too(router: RouterHarness) -> None:
    staff = await router.agent()
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    assert ticket["agent_id"] == staff["id"]
    path = f"/v1/tickets/{ticket['id']}"
    stale = (await router.client.get(path)).headers["ETag"]
    await router.client.patch(path, json={"priority": "high"})
    moved = await router.post(f"{path}/status", {"status": "on_hold"}, **{"If-Match": stale})
    assert moved.status_code == 412
    assert (await router.client.get(path)).json()["status"] == "open"


async def test_an_agents_update_is_conditional_on_what_the_supervisor_saw(router: RouterHarness) -> None:
    agent = await router.agent()
    path = f"/v1/agents/{agent['id']}"
    seen = (await router.client.get(path)).headers["ETag"]
    assert (await router.client.patch(path, json={"status": "away"}, headers={"If-Match": seen})).status_code == 200
    late = await router.client.patch(path, json={"skills": {"cards": 5}}, headers={"If-Match": seen})
    assert late.status_code == 412
    assert (await router.client.get(path)).json()["skills"] == agent["skills"]


async def test_a_customers_owner_change_is_conditional(router: RouterHarness) -> None:
    owner = await router.agent()
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    path = f"/v1/customers/{ticket['customer_id']}"
    seen = (await router.client.get(path)).headers["ETag"]
    found = await router.client.get("/v1/customers", params={"email": "ada@example.com"})
    assert found.headers["ETag"] == seen
    body: dict[str, Any] = {"agent_id": owner["id"]}
    changed = await router.client.put(f"{path}/owner", json=body, headers={"If-Match": seen})
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == (await router.client.get(path)).headers["ETag"] != seen
    late = await router.client.put(f"{path}/owner", json={"agent_id": None}, headers={"If-Match": seen})
    assert late.status_code == 412
    assert (await router.client.get(path)).json()["owner_agent_id"] == owner["id"]


async def test_the_document_names_etag_and_if_match(router: RouterHarness) -> None:
    spec: dict[str, Any] = (await router.client.get("/openapi.json")).json()
    for path, method in (
        ("/v1/tickets/{ticket_id}", "patch"),
        ("/v1/tickets/{ticket_id}/status", "post"),
        ("/v1/agents/{agent_id}", "patch"),
        ("/v1/customers/{customer_id}/owner", "put"),
    ):
        operation = spec["paths"][path][method]
        assert "If-Match" in [p["name"] for p in operation["parameters"]], path
        assert "412" in operation["responses"], path
        assert "ETag" in operation["responses"]["200"]["headers"], path
    for path in ("/v1/tickets/{ticket_id}", "/v1/agents/{agent_id}", "/v1/customers/{customer_id}"):
        assert "ETag" in spec["paths"][path]["get"]["responses"]["200"]["headers"], path
