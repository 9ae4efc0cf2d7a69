"""GET /v1/tickets and a ticket's notes: filters, sorts, cursors that hold under inserts, and the Link header."""

from __future__ import annotations

from typing import Any

import pytest

from shared.web.pagination import encode_cursor
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def _open(router: RouterHarness, count: int, **overrides: Any) -> list[dict[str, Any]]:
    opened = []
    for number in range(count):
        response = await router.post("/v1/tickets", ticket_request(subject=f"ticket {number}", **overrides))
        assert response.status_code == 201, response.text
        opened.append(response.json())
    return opened


async def _all_pages(router: RouterHarness, **params: Any) -> list[str]:
    ids: list[str] = []
    page = (await router.client.get("/v1/tickets", params=params)).json()
    ids += [t["id"] for t in page["items"]]
    while page["next_cursor"]:
        page = (await router.client.get("/v1/tickets", params={**params, "cursor": page["next_cursor"]})).json()
        ids += [t["id"] for t in page["items"]]
    return ids


async def test_pages_list_every_ticket_once_newest_first_with_a_link_to_the_next(router: RouterHarness) -> None:
    opened = await _open(router, 5)
    first = await router.client.get("/v1/tickets", params={"limit": 2})
    assert first.status_code == 200
    assert [t["id"] for t in first.json()["items"]] == [opened[4]["id"], opened[3]["id"]]
    link = first.headers["Link"]
    assert link.startswith("</v1/tickets?")
    assert link.endswith('>; rel="next"')
    assert "limit=2" in link
    second = await router.client.get(link[1 : link.index(">")])
    assert [t["id"] for t in second.json()["items"]] == [opened[2]["id"], opened[1]["id"]]
    assert await _all_pages(router, limit=2) == [t["id"] for t in reversed(opened)]


async def test_a_cursor_holds_while_tickets_are_opened_between_pages(router: RouterHarness) -> None:
    before = [t["id"] for t in await _open(router, 4)]
    newest_first = (await router.client.get("/v1/tickets", params={"limit": 2})).json()
    oldest_first = (await router.client.get("/v1/tickets", params={"limit": 2, "sort": "opened_at"})).json()
    during = [t["id"] for t in await _open(router, 2, customer={"email": "new@example.com"})]

    async def rest(first: dict[str, Any], sort: str) -> list[str]:
        params = {"limit": 10, "sort": sort, "cursor": first["next_cursor"]}
        page = (await router.client.get("/v1/tickets", params=params)).json()
        return [t["id"] for t in first["items"] + page["items"]]

    # Newer tickets land before the first page: the pages go on exactly where they were.
    assert await rest(newest_first, "-opened_at") == list(reversed(before))
    # Oldest first, the newcomers come at the end: nothing is repeated or skipped.
    assert await rest(oldest_first, "opened_at") == before + during


async def test_an_agents_own_queue_in_one_call(router: RouterHarness) -> None:
    staff = await router.agent(capacity={"phone": 2, "chat": 2})
    mine = await _open(router, 2, channel="phone")
    waiting = await _open(router, 1, channel="phone", customer={"email": "q@example.com"})
    own = await router.key("agent", agent_id=staff["id"])
    queue = await router.client.get("/v1/tickets", params={"agent": "me", "status": "open"}, headers=own)
    assert queue.status_code == 200
    assert {t["id"] for t in queue.json()["items"]} == {t["id"] for t in mine}
    waiting_list = (await router.client.get("/v1/tickets", params={"agent": "none"})).json()["items"]
    assert [t["id"] for t in waiting_list] == [waiting[0]["id"]]
    no_agent = await router.client.get("/v1/tickets", params={"agent": "me"})
    assert (no_agent.status_code, no_agent.json()["errors"][0]["field"]) == (422, "query.agent")


async def test_filters_narrow_by_team_status_priority_channel_customer_and_times(router: RouterHarness) -> None:
    staff = await router.agent(team="payments", capacity={"chat": 5})
    chat = (await router.post("/v1/tickets", ticket_request(channel="chat", priority="high"))).json()
    email = await router.post("/v1/tickets", ticket_request(channel="email", customer={"email": "b@example.com"}))
    other = email.json()
    await router.post(f"/v1/tickets/{chat['id']}/status", {"status": "on_hold"})
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"team": "payments"}, [chat["id"]]),
        ({"agent": staff["id"]}, [chat["id"]]),
        ({"status": ["on_hold", "pending_customer"]}, [chat["id"]]),
        ({"status": "open"}, [other["id"]]),
        ({"priority": "high"}, [chat["id"]]),
        ({"channel": ["email", "web"]}, [other["id"]]),
        ({"customer_id": other["customer_id"]}, [other["id"]]),
        ({"opened_from": chat["opened_at"], "opened_to": other["opened_at"]}, [chat["id"]]),
        ({"updated_from": other["updated_at"], "sort": "updated_at"}, [other["id"], chat["id"]]),
        ({"sla_breached": "true"}, []),
        ({"sla_breached": "false", "sort": "opened_at"}, [chat["id"], other["id"]]),
        ({"intent": "no-such-intent"}, []),
    ]
    for params, expected in cases:
        response = await router.client.get("/v1/tickets", params=params)
        assert response.status_code == 200, (params, response.text)
        assert [t["id"] for t in response.json()["items"]] == expected, params


async def test_priority_sort_is_the_queues_order(router: RouterHarness) -> None:
    low = (await router.post("/v1/tickets", ticket_request(priority="low"))).json()
    urgent = (await router.post("/v1/tickets", ticket_request(priority="urgent"))).json()
    normal = (await router.post("/v1/tickets", ticket_request(priority="normal"))).json()
    urgent_too = (await router.post("/v1/tickets", ticket_request(priority="urgent"))).json()
    expected = [urgent["id"], urgent_too["id"], normal["id"], low["id"]]
    assert await _all_pages(router, sort="priority", limit=1) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "WyItb3BlbmVkX2F0IiwiMjAyNi0xMS0wMVQwMDowMDowMCIsIngiXQ"},  # a naive time and no id
        {"sort": "priority", "cursor": "WyJvcGVuZWRfYXQiLCIyMDI2LTExLTAxVDAwOjAwOjAwWiIsIngiXQ"},
        {
            "sort": "priority",
            "cursor": encode_cursor(
                "priority", 2**40, "2026-11-01T00:00:00+00:00", "6f1c2b7e-9a43-4c1d-8a52-0d8f3b8f2a11"
            ),
        },
        {"limit": "201"},
        {"status": "lost"},
        {"opened_from": "1700000000"},
        {"agent": "someone"},
        {"status": ["open"] * 8},
    ],
)
async def test_a_bad_query_is_a_422_naming_it(router: RouterHarness, params: dict[str, Any]) -> None:
    response = await router.client.get("/v1/tickets", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].startswith("query.")


async def test_a_cursor_of_one_sort_is_refused_by_another(router: RouterHarness) -> None:
    await _open(router, 3)
    cursor = (await router.client.get("/v1/tickets", params={"limit": 1})).json()["next_cursor"]
    for sort in ("updated_at", "priority"):
        response = await router.client.get("/v1/tickets", params={"sort": sort, "cursor": cursor})
        assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "query.cursor")
    same_shape = await router.client.get("/v1/tickets", params={"sort": "updated_at", "cursor": cursor})
    assert "sort=-opened_at" in same_shape.json()["errors"][0]["message"]


async def test_notes_read_back_in_order_in_pages_and_internal_ones_stay_with_staff(router: RouterHarness) -> None:
    staff = await router.agent()
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    for number in range(5):
        body = {"body": f"note {number}", "public": number % 2 == 0, "agent_id": staff["id"]}
        assert (await router.post(f"/v1/tickets/{ticket['id']}/notes", body)).status_code == 201
    path = f"/v1/tickets/{ticket['id']}/notes"
    first = await router.client.get(path, params={"limit": 3})
    assert [n["body"] for n in first.json()["items"]] == ["note 0", "note 1", "note 2"]
    rest = await router.client.get(first.headers["Link"][1 : first.headers["Link"].index(">")])
    assert [n["body"] for n in rest.json()["items"]] == ["note 3", "note 4"]
    assert rest.json()["next_cursor"] is None
    assert "Link" not in rest.headers
    internal = (await router.client.get(path, params={"public": "false"})).json()["items"]
    assert [n["body"] for n in internal] == ["note 1", "note 3"]
    gateway = await router.key("contact-center")
    told = (await router.client.get(path, headers=gateway)).json()["items"]
    assert [n["body"] for n in told] == ["note 0", "note 2", "note 4"]
    assert (await router.client.get(path, params={"public": "false"}, headers=gateway)).status_code == 422


async def test_notes_of_an_unknown_ticket_are_a_404(router: RouterHarness) -> None:
    response = await router.client.get("/v1/tickets/6f1c2b7e-9a43-4c1d-8a52-0d8f3b8f2a11/notes")
    assert response.status_code == 404
