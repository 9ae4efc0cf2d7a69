"""Edits change only the fields sent; null clears an agent's team and is refused where a value is needed."""

from __future__ import annotations

from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def test_null_clears_an_agents_team(router: RouterHarness) -> None:
    agent = await router.agent(team="payments")
    response = await router.client.patch(f"/v1/agents/{agent['id']}", json={"team": None})
    assert response.status_code == 200, response.text
    assert response.json()["team"] is None
    assert response.json()["display_name"] == agent["display_name"]


async def test_null_for_an_agents_name_is_a_422_and_changes_nothing(router: RouterHarness) -> None:
    agent = await router.agent(team="payments")
    response = await router.client.patch(f"/v1/agents/{agent['id']}", json={"display_name": None, "team": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.display_name"
    assert (await router.client.get(f"/v1/agents/{agent['id']}")).json()["team"] == "payments"


async def test_null_for_a_tickets_subject_is_a_422_not_a_silent_no_op(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.client.patch(f"/v1/tickets/{ticket['id']}", json={"subject": None, "priority": "high"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.subject"
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["priority"] == "normal"
