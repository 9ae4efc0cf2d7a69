"""The router's lists of agents, API keys, intents and approvals: cursor pages, in a stable order, with Link."""

from __future__ import annotations

import pytest

from tests.factories import order_request, ticket_request
from tests.paging import next_link, walk
from tests.unit.router.conftest import RouterHarness


async def test_agents_are_paged_by_name_and_a_new_agent_moves_no_page_boundary(router: RouterHarness) -> None:
    for name in ("Dorothy", "Alan", "Grace", "Barbara", "Edsger"):
        await router.agent(display_name=name, email=f"{name.lower()}@contact.example")
    first = await router.client.get("/v1/agents", params={"limit": 2})
    await router.agent(display_name="Ada", email="ada@contact.example")  # sorts before the cursor
    await router.agent(display_name="Frances", email="frances@contact.example")  # after it

    rest = await walk(router.client, str(next_link(first)))
    names = [a["display_name"] for a in first.json()["items"]] + [a["display_name"] for page in rest for a in page]

    assert names == ["Alan", "Barbara", "Dorothy", "Edsger", "Frances", "Grace"]
    assert [len(page) for page in rest] == [2, 2]


async def test_api_keys_are_paged_oldest_first(router: RouterHarness) -> None:
    issued = [(await router.post("/v1/api-keys", {"name": f"key {i}", "scopes": ["ops"]})).json() for i in range(3)]
    pages = await walk(router.client, "/v1/api-keys", limit=1)
    listed = [key["key_id"] for page in pages for key in page]
    assert listed[-3:] == [key["key_id"] for key in issued]
    assert len(set(listed)) == len(listed) == len(pages)


async def test_intents_are_paged_by_name_whether_known_from_examples_or_profiles(router: RouterHarness) -> None:
    examples = [{"text": f"text {i}", "intent": name} for i, name in enumerate(["refund", "delivery", "refund"])]
    assert (await router.post("/v1/intents/examples", {"examples": examples})).status_code == 201
    profile = await router.client.put("/v1/intents/billing/profile", json={"required_skills": {"billing": 2}})
    assert profile.status_code == 200, profile.text

    pages = await walk(router.client, "/v1/intents", limit=2)

    assert [[(i["intent"], i["examples"]) for i in page] for page in pages] == [
        [("billing", 0), ("delivery", 1)],
        [("refund", 2)],
    ]
    assert pages[0][0]["profile"]["required_skills"] == {"billing": 2}


async def test_approvals_are_paged_oldest_first(router: RouterHarness) -> None:
    agent = await router.agent(capacity={"chat": 5})
    order = (await router.post("/v1/orders", order_request())).json()
    requested = []
    for i in range(3):
        ticket = (await router.post("/v1/tickets", ticket_request(channel="chat", subject=f"Late {i}"))).json()
        body = {"type": "credit", "amount": "80.00", "currency": "EUR", "reason": "late", "agent_id": agent["id"]}
        response = await router.post(f"/v1/tickets/{ticket['id']}/resolutions", {**body, "order_id": order["id"]})
        assert response.status_code == 202, response.text
        requested.append(response.json()["approval"]["id"])

    pages = await walk(router.client, "/v1/approvals", status="pending", limit=2)

    assert [[a["id"] for a in page] for page in pages] == [requested[:2], requested[2:]]


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/api-keys", "/v1/intents", "/v1/approvals"])
async def test_a_cursor_of_another_list_or_no_cursor_at_all_is_a_422_naming_it(
    router: RouterHarness, path: str
) -> None:
    await router.agent(display_name="Alan", email="alan@contact.example")
    await router.agent(display_name="Grace", email="grace@contact.example")
    ticket_cursor = (await router.client.get("/v1/tickets", params={"limit": 1})).json()["next_cursor"]
    agents_cursor = (await router.client.get("/v1/agents", params={"limit": 1})).json()["next_cursor"]
    foreign = ticket_cursor if path == "/v1/agents" else agents_cursor
    for cursor in [c for c in (foreign, "bm90IGEgY3Vyc29y") if c is not None]:
        response = await router.client.get(path, params={"cursor": cursor})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/api-keys", "/v1/intents", "/v1/approvals"])
async def test_a_page_size_beyond_its_bound_is_a_422(router: RouterHarness, path: str) -> None:
    response = await router.client.get(path, params={"limit": 201})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.limit"]


async def test_a_page_ending_on_the_longest_name_has_a_cursor_the_list_takes_back(router: RouterHarness) -> None:
    longest = "名" * 200  # 200 characters of 3 bytes each in UTF-8
    await router.agent(display_name=longest, email="long@contact.example")
    await router.agent(display_name="龍" * 200, email="longer@contact.example")
    pages = await walk(router.client, "/v1/agents", limit=1)
    assert [a["display_name"] for page in pages for a in page] == [longest, "龍" * 200]
