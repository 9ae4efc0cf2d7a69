"""The bridge's own API: the agent <-> RT user mapping (admin), and how the sync stands (ops)."""

from __future__ import annotations

import uuid

from tests.unit.helpdesk.conftest import Desk


async def test_an_admin_links_an_agent_to_an_existing_rt_user(desk: Desk) -> None:
    agent_id = str(uuid.uuid4())
    desk.rt.users.add("grace")
    linked = await desk.bridge_api.put(f"/v1/agent-links/{agent_id}", json={"rt_user": "grace"})
    assert linked.status_code == 200
    assert linked.json()["rt_user"] == "grace"
    read = await desk.bridge_api.get(f"/v1/agent-links/{agent_id}")
    assert read.json()["agent_id"] == agent_id


async def test_an_rt_user_rt_does_not_have_is_refused_naming_the_field(desk: Desk) -> None:
    response = await desk.bridge_api.put(f"/v1/agent-links/{uuid.uuid4()}", json={"rt_user": "ghost"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body.rt_user"


async def test_one_rt_user_works_for_one_agent(desk: Desk) -> None:
    desk.rt.users.add("grace")
    await desk.bridge_api.put(f"/v1/agent-links/{uuid.uuid4()}", json={"rt_user": "grace"})
    response = await desk.bridge_api.put(f"/v1/agent-links/{uuid.uuid4()}", json={"rt_user": "grace"})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/rt-user-linked")


async def test_rt_being_down_is_a_503_not_a_silent_link(desk: Desk) -> None:
    desk.rt.down = True
    response = await desk.bridge_api.put(f"/v1/agent-links/{uuid.uuid4()}", json={"rt_user": "grace"})
    assert response.status_code == 503
    assert response.json()["type"].endswith("/helpdesk-unavailable")


async def test_links_are_listed_by_rt_user_a_page_at_a_time_and_can_be_removed(desk: Desk) -> None:
    ids = {}
    for name in ("carol", "alan", "bea"):
        desk.rt.users.add(name)
        ids[name] = str(uuid.uuid4())
        await desk.bridge_api.put(f"/v1/agent-links/{ids[name]}", json={"rt_user": name})
    first = (await desk.bridge_api.get("/v1/agent-links", params={"limit": 2})).json()
    second = (await desk.bridge_api.get("/v1/agent-links", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [i["rt_user"] for i in first["items"] + second["items"]] == ["alan", "bea", "carol"]
    assert second["next_cursor"] is None
    assert (await desk.bridge_api.delete(f"/v1/agent-links/{ids['bea']}")).status_code == 204
    assert (await desk.bridge_api.get(f"/v1/agent-links/{ids['bea']}")).status_code == 404


async def test_an_agent_key_may_not_change_the_mapping(desk: Desk) -> None:
    issued = await desk.router.post("/v1/api-keys", json={"name": "someone", "scopes": ["agent"]})
    await desk.deliver()  # the key reaches the bridge through ApiKeyIssued
    headers = {"Authorization": f"Bearer {issued.json()['key']}"}
    response = await desk.bridge_api.put(f"/v1/agent-links/{uuid.uuid4()}", json={"rt_user": "x"}, headers=headers)
    assert response.status_code == 403


async def test_the_sync_status_shows_waiting_and_failed_writes_and_a_failed_one_can_be_retried(desk: Desk) -> None:
    ticket = await desk.open_ticket()
    desk.rt.down = True
    await desk.deliver()
    await desk.bridge.worker.run_once()
    status = (await desk.bridge_api.get("/v1/sync")).json()
    assert status["connected"] is True
    assert status["pending_effects"] >= 1

    desk.rt.down = False
    await desk.carry_out_effects()
    link = (await desk.bridge_api.get(f"/v1/tickets/{ticket['id']}/link")).json()
    assert link["rt_url"] == f"http://rt.test/Ticket/Display.html?id={link['rt_ticket_id']}"
    assert link["pending_effects"] == 0
    assert (await desk.bridge_api.get("/v1/sync")).json()["failed_effects"] == 0
    listed = (await desk.bridge_api.get("/v1/effects", params={"status": "done"})).json()["items"]
    assert {e["kind"] for e in listed} >= {"create"}
    retried = await desk.bridge_api.post(f"/v1/effects/{listed[0]['id']}/retry")
    assert retried.status_code == 409


async def test_a_cursor_from_elsewhere_is_a_422_naming_it(desk: Desk) -> None:
    response = await desk.bridge_api.get("/v1/effects", params={"cursor": "WyJub3QtYW4taW50Il0"})  # ["not-an-int"]
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor"
