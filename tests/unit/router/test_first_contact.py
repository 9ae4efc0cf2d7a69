"""Transfers, reopens and the first-contact figures they move, in /v1/stats and in the metrics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.router.classification.models import IntentExample
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def answer(router: RouterHarness, ticket: dict[str, Any], agent_id: str) -> None:
    response = await router.post(
        f"/v1/tickets/{ticket['id']}/resolutions", {"type": "answer", "reason": "explained", "agent_id": agent_id}
    )
    assert response.status_code == 201, response.text


async def stats(router: RouterHarness, **params: str) -> dict[str, Any]:
    response = await router.client.get("/v1/stats", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_fcr_counts_resolutions_without_transfer_or_reopen(router: RouterHarness) -> None:
    first = await router.agent(display_name="First", capacity={"chat": 5})
    second = await router.agent(display_name="Second", capacity={"chat": 1})
    clean = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    transferred = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    reopened = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    await answer(router, clean, first["id"])
    moved = await router.post(
        f"/v1/tickets/{transferred['id']}/transfers",
        {"reason": "missing_skill", "note": "needs a card specialist", "agent_id": first["id"]},
    )
    assert moved.status_code == 201
    assert moved.json()["to_agent_id"] == second["id"]
    await answer(router, transferred, second["id"])
    await answer(router, reopened, first["id"])
    assert (await router.post(f"/v1/tickets/{reopened['id']}/reopen", {"reason": "still broken"})).status_code == 200
    figures = (await stats(router))["groups"]["all"]
    assert figures["tickets"] == 3
    # The reopened ticket was resolved once (it counts), but not at first contact.
    assert figures["resolved"] == 3
    assert figures["first_contact_resolved"] == 1
    assert figures["fcr_rate"] == round(1 / 3, 4)
    assert figures["transfers_by_reason"] == {"missing_skill": 1}
    assert figures["transfers_per_ticket"] == round(1 / 3, 4)
    assert figures["time_to_assignment_seconds"]["assigned"] == 3
    metrics = (await router.client.get("/metrics")).text
    assert 'firstcall_ticket_transfers_total{reason="missing_skill"} 1.0' in metrics
    assert 'firstcall_tickets_opened_total{channel="chat",intent="unknown"} 3.0' in metrics


async def test_stats_group_by_channel_and_report_queue_depth(router: RouterHarness) -> None:
    await router.post("/v1/tickets", ticket_request(channel="email"))
    await router.post("/v1/tickets", ticket_request(channel="chat"))
    figures = await stats(router, group_by="channel")
    assert set(figures["groups"]) == {"chat", "email"}
    assert figures["queue_depth"] == {"chat": 1, "email": 1}


async def test_stats_refuse_a_backwards_range(router: RouterHarness) -> None:
    response = await router.client.get(
        "/v1/stats", params={"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.from"


async def test_a_wrong_intent_transfer_becomes_a_training_example(router: RouterHarness) -> None:
    agent = await router.agent(capacity={"chat": 2})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat", subject="Where is my card?"))).json()
    response = await router.post(
        f"/v1/tickets/{ticket['id']}/transfers",
        {"reason": "wrong_intent", "corrected_intent": "card_arrival", "agent_id": agent["id"]},
    )
    assert response.status_code == 201
    async with router.runtime.database.session() as session:
        [example] = (await session.scalars(select(IntentExample))).all()
    assert (example.intent, example.source) == ("card_arrival", "transfer")
    assert "Where is my card?" in example.text
    [transferred] = await router.published("firstcall.ticket.transferred")
    assert transferred.data["reason"] == "wrong_intent"


async def test_the_first_public_note_is_the_first_response(router: RouterHarness) -> None:
    agent = await router.agent()
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    internal = await router.post(
        f"/v1/tickets/{ticket['id']}/notes", {"body": "checking", "public": False, "agent_id": agent["id"]}
    )
    assert internal.status_code == 201
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["first_responded_at"] is None
    await router.post(f"/v1/tickets/{ticket['id']}/notes", {"body": "hello!", "agent_id": agent["id"]})
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["first_responded_at"] is not None


async def test_a_note_from_a_key_that_is_not_an_agents_must_name_the_agent(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.post(f"/v1/tickets/{ticket['id']}/notes", {"body": "hi"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.agent_id"


async def test_only_resolved_tickets_can_be_reopened(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    response = await router.post(f"/v1/tickets/{ticket['id']}/reopen", {})
    assert response.status_code == 409
