"""`problems` and `tickets show` against the services' real APIs and outboxes (in-process)."""

from __future__ import annotations

import httpx
import pytest

from services.embedded import drain
from services.notifier.bootstrap import create_app
from services.ops.api import ServiceApi
from services.ops.errors import NotFound, OpsError, Unreachable
from services.ops.problems import get_problem, list_problems, problem_text, problems_table
from services.ops.tickets import follow_ticket, trail_text
from tests.conftest import wait_until
from tests.factories import ticket_request
from tests.notifier_factories import outage
from tests.unit.notifier.conftest import Notifier
from tests.unit.ops.conftest import Services, api_of


async def test_problems_list_their_size_growth_and_status_and_show_their_tickets(notifier: Notifier) -> None:
    await notifier.publish(*outage(5))
    api = api_of("notifier", create_app(notifier.runtime, manage_runtime=False))
    [problem] = await list_problems(api, status="open", severity=None, limit=10)
    assert problem["customer_count"] == 5
    table = problems_table([problem]).splitlines()
    assert table[0].split() == [
        "problem",
        "status",
        "severity",
        "customers",
        "reports",
        "growth/h",
        "last",
        "report",
        "summary",
    ]
    assert table[1].split()[:5] == [problem["id"], "open", problem["severity"], "5", "5"]
    detail = await get_problem(api, problem["id"])
    text = problem_text(detail)
    assert "5 customers, 5 reports" in text
    assert all(member["ticket_id"] in text for member in detail["members"])


async def test_a_problem_the_notifier_does_not_know_is_not_found(notifier: Notifier) -> None:
    api = api_of("notifier", create_app(notifier.runtime, manage_runtime=False))
    with pytest.raises(NotFound):
        await get_problem(api, "1a393a70-4f8c-4183-87e7-a1deaf2bff90")


async def test_a_refused_key_is_an_error_and_no_answer_is_unreachable() -> None:
    refused = httpx.MockTransport(lambda _: httpx.Response(401, json={"title": "Unauthorized", "detail": "bad key"}))
    with pytest.raises(OpsError, match=r"401.*bad key"):
        await ServiceApi("notifier", "http://notifier", "k", transport=refused).get("/v1/problems")

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unreachable):
        await ServiceApi("notifier", "http://notifier", "k", transport=httpx.MockTransport(fail)).get("/v1/problems")


async def test_a_ticket_is_followed_across_the_three_services_by_its_events(services: Services) -> None:
    response = await services.clients["router"].post(
        "/v1/tickets", json=ticket_request(), headers={"X-Correlation-ID": "ivr-call-42"}
    )
    ticket_id = response.json()["id"]
    await wait_until(lambda: _answers(services.clients["knowledge"], f"/v1/tickets/{ticket_id}/suggestions"))
    await wait_until(lambda: _answers(services.clients["notifier"], f"/v1/reports/{ticket_id}"))
    await drain(services.bus, list(services.runtimes.values()), timeout=60)
    outboxes = {
        name: str(rt.database.url.render_as_string(hide_password=False)) for name, rt in services.runtimes.items()
    }

    trail = await follow_ticket(
        ticket_id=ticket_id,
        router=services.apis["router"],
        knowledge=services.apis["knowledge"],
        notifier=services.apis["notifier"],
        outboxes=outboxes,
    )

    assert trail.ticket is not None
    assert trail.ticket["id"] == ticket_id
    assert trail.suggestions is not None
    assert trail.report is not None
    by_service = {(e.service, e.type) for e in trail.events}
    assert ("router", "firstcall.ticket.opened") in by_service
    # Knowledge's answer is another service's event, found by the correlation id the ticket's work carried.
    assert any(service == "knowledge" for service, _ in by_service)
    assert {e.correlation_id for e in trail.events} == {"ivr-call-42"}
    text = trail_text(trail)
    assert f"ticket {ticket_id}" in text
    assert "firstcall.ticket.opened" in text


async def test_a_ticket_nobody_knows_is_not_found(services: Services) -> None:
    outboxes = {
        name: str(rt.database.url.render_as_string(hide_password=False)) for name, rt in services.runtimes.items()
    }
    with pytest.raises(NotFound):
        await follow_ticket(
            ticket_id="5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
            router=services.apis["router"],
            knowledge=services.apis["knowledge"],
            notifier=services.apis["notifier"],
            outboxes=outboxes,
        )


async def _answers(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200
