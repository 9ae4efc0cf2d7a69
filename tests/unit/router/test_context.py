"""The agent's context, and what the router keeps from knowledge's and the notifier's events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.events.catalogue import (
    KnowledgeSuggested,
    KnownIssueRef,
    KnownIssueUpdated,
    OrderLine,
    OrderPlaced,
    ProblemDetected,
    ProblemEscalated,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
    SuggestedArticle,
)
from tests.factories import order_request, ticket_request
from tests.unit.router.conftest import RouterHarness

NOW = datetime.now(UTC)


async def context(router: RouterHarness, ticket_id: str, **headers: str) -> dict[str, Any]:
    response = await router.client.get(f"/v1/tickets/{ticket_id}/context", headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def problem_state(problem_id: uuid.UUID, ticket_ids: list[str], **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "problem_id": problem_id,
        "summary_text": "Card payments declined at checkout",
        "representative_reports": ["my card was declined"],
        "ticket_ids": [uuid.UUID(t) for t in ticket_ids],
        "customer_count": 5,
        "report_count": 6,
        "first_seen": NOW - timedelta(hours=1),
        "last_seen": NOW,
        "growth_per_hour": 5.0,
        "severity": "minor",
    }
    values.update(overrides)
    return values


async def test_the_context_has_the_customer_orders_and_what_the_agent_may_do(router: RouterHarness) -> None:
    agent = await router.agent(capacity={"chat": 2})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    order = (await router.post("/v1/orders", order_request())).json()
    agent_key = await router.key("agent", agent_id=agent["id"])
    found = await context(router, ticket["id"], **agent_key)
    assert found["ticket"]["id"] == ticket["id"]
    assert found["customer"]["profile"]["id"] == ticket["customer_id"]
    assert found["customer"]["tenure_days"] == 0
    assert {a["kind"] for a in found["customer"]["recent_history"]} == {"ticket.opened", "order.recorded"}
    [order_view] = found["orders"]
    assert (order_view["order"]["id"], order_view["refundable"], order_view["returnable"]) == (
        order["id"],
        "120.00",
        True,
    )
    summaries = [action["summary"] for action in found["allowed_actions"]]
    assert "answer and resolve" in summaries
    assert f"credit up to 50.00 EUR on order {order['external_ref']} without approval" in summaries
    assert f"refund up to 120.00 EUR on order {order['external_ref']} without approval" in summaries
    assert found["knowledge"]["source"] == "pending"  # knowledge is not running in this test
    assert found["problem"] is None


async def test_knowledge_suggestions_and_the_latest_known_issue_status_reach_the_context(
    router: RouterHarness,
) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    known_issue_id, article_id = uuid.uuid4(), uuid.uuid4()
    await router.deliver(
        KnowledgeSuggested(
            ticket_id=uuid.UUID(ticket["id"]),
            articles=[
                SuggestedArticle(
                    article_id=article_id, article_version=1, title="Declined cards", snippet="...", score=0.9
                )
            ],
            known_issue=KnownIssueRef(known_issue_id=known_issue_id, title="Card outage", status="investigating"),
            computed_at=NOW,
        ),
        KnownIssueUpdated(
            known_issue_id=known_issue_id,
            revision=2,
            problem_id=None,
            title="Card outage",
            symptoms="declined",
            status="fix_available",
            fix="retry now",
            updated_at=NOW,
        ),
    )
    found = await context(router, ticket["id"])
    assert found["knowledge"]["source"] == "events"
    assert found["knowledge"]["articles"][0]["article_id"] == str(article_id)
    assert (found["knowledge"]["known_issue"]["status"], found["knowledge"]["known_issue"]["fix"]) == (
        "fix_available",
        "retry now",
    )


async def test_a_detected_problem_shows_how_many_other_customers_report_it(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    problem_id = uuid.uuid4()
    await router.deliver(ProblemDetected(**problem_state(problem_id, [ticket["id"]]), detected_at=NOW))
    found = await context(router, ticket["id"])
    assert found["problem"]["problem_id"] == str(problem_id)
    assert found["problem"]["other_customers"] == 4
    assert found["ticket"]["problem_id"] == str(problem_id)
    await router.deliver(
        ProblemResolved(
            problem_id=problem_id, ticket_ids=[uuid.UUID(ticket["id"])], resolution="patched", resolved_at=NOW
        )
    )
    assert (await context(router, ticket["id"]))["problem"]["status"] == "resolved"


def problem_change(problem_id: uuid.UUID, **overrides: Any) -> ProblemUpdatedV2:
    """A ProblemUpdated of version 2: the picture and the tickets that moved, not every member."""
    fields = {key: value for key, value in problem_state(problem_id, []).items() if key != "ticket_ids"}
    fields.update({"change": "report_joined", "updated_at": NOW + timedelta(minutes=1)})
    fields.update(overrides)
    return ProblemUpdatedV2(**fields)


async def test_a_ticket_joining_a_problem_is_marked_as_part_of_it_from_the_change_alone(router: RouterHarness) -> None:
    first, joining = [(await router.post("/v1/tickets", ticket_request())).json() for _ in range(2)]
    problem_id = uuid.uuid4()
    await router.deliver(ProblemDetected(**problem_state(problem_id, [first["id"]]), detected_at=NOW))
    joined = uuid.UUID(joining["id"])
    await router.deliver(
        problem_change(problem_id, joined_ticket_id=joined, added_ticket_ids=[joined], customer_count=6, report_count=7)
    )
    found = await context(router, joining["id"])
    assert found["ticket"]["problem_id"] == str(problem_id)
    assert found["problem"]["other_customers"] == 5
    assert (await context(router, first["id"]))["ticket"]["problem_id"] == str(problem_id)


async def test_a_ticket_split_off_a_problem_is_no_longer_part_of_it(router: RouterHarness) -> None:
    kept, wrong = [(await router.post("/v1/tickets", ticket_request())).json() for _ in range(2)]
    problem_id = uuid.uuid4()
    await router.deliver(ProblemDetected(**problem_state(problem_id, [kept["id"], wrong["id"]]), detected_at=NOW))
    await router.deliver(problem_change(problem_id, change="split", split_ticket_ids=[uuid.UUID(wrong["id"])]))
    assert (await context(router, wrong["id"]))["ticket"]["problem_id"] is None
    assert (await context(router, kept["id"]))["ticket"]["problem_id"] == str(problem_id)


async def test_the_tickets_of_a_merged_problem_are_marked_as_part_of_the_one_it_joined(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    source, target = uuid.uuid4(), uuid.uuid4()
    await router.deliver(ProblemDetected(**problem_state(source, [ticket["id"]]), detected_at=NOW))
    await router.deliver(
        problem_change(target, change="merged", merged_problem_ids=[source], added_ticket_ids=[uuid.UUID(ticket["id"])])
    )
    assert (await context(router, ticket["id"]))["ticket"]["problem_id"] == str(target)


async def test_a_change_older_than_the_kept_picture_still_marks_its_ticket(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    problem_id = uuid.uuid4()
    await router.deliver(ProblemDetected(**problem_state(problem_id, []), detected_at=NOW + timedelta(hours=1)))
    joined = uuid.UUID(ticket["id"])
    await router.deliver(problem_change(problem_id, joined_ticket_id=joined, added_ticket_ids=[joined]))
    assert (await context(router, ticket["id"]))["ticket"]["problem_id"] == str(problem_id)


async def test_an_update_of_version_1_still_marks_every_ticket_it_lists(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request())).json()
    problem_id = uuid.uuid4()
    await router.deliver(
        ProblemUpdated(**problem_state(problem_id, [ticket["id"]]), change="report_joined", updated_at=NOW)
    )
    assert (await context(router, ticket["id"]))["ticket"]["problem_id"] == str(problem_id)


async def test_a_major_problem_raises_its_open_tickets_to_urgent(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request(priority="low"))).json()
    await router.deliver(
        ProblemEscalated(**problem_state(uuid.uuid4(), [ticket["id"]], severity="major"), escalated_at=NOW)
    )
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["priority"] == "urgent"
    [changed] = await router.published("firstcall.ticket.priority_changed")
    assert (changed.data["previous"], changed.data["priority"]) == ("low", "urgent")


async def test_a_ticket_joining_a_major_problem_is_raised_to_urgent_too(router: RouterHarness) -> None:
    first, joining = [(await router.post("/v1/tickets", ticket_request(priority="low"))).json() for _ in range(2)]
    problem_id = uuid.uuid4()
    await router.deliver(
        ProblemEscalated(**problem_state(problem_id, [first["id"]], severity="major"), escalated_at=NOW)
    )
    joined = uuid.UUID(joining["id"])
    change = problem_change(problem_id, joined_ticket_id=joined, added_ticket_ids=[joined], severity="major")
    await router.deliver(change, change.model_copy())  # a redelivery changes nothing more
    assert (await router.client.get(f"/v1/tickets/{joining['id']}")).json()["priority"] == "urgent"
    changed = await router.published("firstcall.ticket.priority_changed")
    assert sorted(event.subject for event in changed) == sorted([first["id"], joining["id"]])


async def test_a_ticket_joining_a_minor_problem_keeps_its_priority(router: RouterHarness) -> None:
    joining = (await router.post("/v1/tickets", ticket_request(priority="low"))).json()
    joined = uuid.UUID(joining["id"])
    await router.deliver(problem_change(uuid.uuid4(), joined_ticket_id=joined, added_ticket_ids=[joined]))
    assert (await router.client.get(f"/v1/tickets/{joining['id']}")).json()["priority"] == "low"


async def test_a_change_to_a_problem_ops_merged_away_lands_on_the_survivor(router: RouterHarness) -> None:
    early, late, detected_late = [(await router.post("/v1/tickets", ticket_request())).json() for _ in range(3)]
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    await router.deliver(ProblemDetected(**problem_state(merged, [early["id"]]), detected_at=NOW))
    # The merge reaches the router before events of the merged problem published before it (two keys,
    # two partitions: no order between them).
    await router.deliver(
        problem_change(survivor, change="merged", merged_problem_ids=[merged], updated_at=NOW + timedelta(minutes=5))
    )
    joined = uuid.UUID(late["id"])
    await router.deliver(problem_change(merged, joined_ticket_id=joined, added_ticket_ids=[joined]))
    await router.deliver(
        ProblemDetected(**problem_state(merged, [detected_late["id"]]), detected_at=NOW + timedelta(minutes=1))
    )
    for ticket in (early, late, detected_late):
        found = await context(router, ticket["id"])
        assert found["ticket"]["problem_id"] == str(survivor)
    assert found["problem"]["problem_id"] == str(survivor)


async def test_an_order_from_a_commerce_system_is_recorded_once(router: RouterHarness) -> None:
    placed = OrderPlaced(
        system="shop",
        external_ref="SO-77",
        customer_email="buyer@example.com",
        currency="EUR",
        lines=[OrderLine(sku="A", description="Lamp", quantity=2, unit_price=Decimal("15.50"))],
        ordered_at=NOW,
    )
    await router.deliver(placed, placed.model_copy())
    customer = (await router.client.get("/v1/customers", params={"email": "buyer@example.com"})).json()
    history = (await router.client.get(f"/v1/customers/{customer['id']}/history")).json()["items"]
    assert [item["kind"] for item in history] == ["order.recorded"]
    assert "31.00 EUR" in history[0]["summary"]


async def test_an_unknown_ticket_has_no_context(router: RouterHarness) -> None:
    response = await router.client.get(f"/v1/tickets/{uuid.uuid4()}/context")
    assert response.status_code == 404
