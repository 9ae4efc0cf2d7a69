"""POST /v1/tickets answers exactly what OpenedTicket declares, though it is built without the model (0043)."""

from __future__ import annotations

from typing import Any

from services.router.tickets.schemas import OpenedTicket
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


def _as_declared(answer: dict[str, Any]) -> None:
    assert list(answer) == list(OpenedTicket.model_fields)
    assert OpenedTicket.model_validate(answer).model_dump(mode="json") == answer


async def test_an_assigned_tickets_answer_is_the_declared_opened_ticket(router: RouterHarness) -> None:
    agent = await router.agent()
    opened = await router.post("/v1/tickets", ticket_request())
    assert opened.status_code == 201, opened.text
    answer = opened.json()
    _as_declared(answer)
    assert answer["assignment"]["agent_id"] == agent["id"]
    assert answer["queue_position"] is None
    assert answer["customer_created"] is True
    assert opened.headers["location"] == f"/v1/tickets/{answer['id']}"


async def test_a_queued_tickets_answer_is_the_declared_opened_ticket(router: RouterHarness) -> None:
    opened = await router.post("/v1/tickets", ticket_request())
    again = await router.post("/v1/tickets", ticket_request(subject="And again"))
    for response, position in ((opened, 1), (again, 2)):
        assert response.status_code == 201, response.text
        answer = response.json()
        _as_declared(answer)
        assert answer["assignment"] is None
        assert answer["queue_position"] == position
    assert again.json()["customer_created"] is False


async def test_a_replayed_answer_is_the_first_one(router: RouterHarness) -> None:
    first = await router.post("/v1/tickets", ticket_request(), **{"Idempotency-Key": "k-1"})
    replay = await router.post("/v1/tickets", ticket_request(), **{"Idempotency-Key": "k-1"})
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    _as_declared(replay.json())
