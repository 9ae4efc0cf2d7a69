"""firstcall -> RT: a ticket opened in firstcall appears in RT with its requestor, owner and the agent's context."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.helpdesk.effects.models import DONE
from shared.events.catalogue import ProblemDetected, ProblemResolved, SlaBreached
from tests.unit.helpdesk.conftest import Desk


async def test_an_opened_ticket_becomes_an_rt_ticket_owned_by_the_routed_agent(desk: Desk) -> None:
    await desk.agent("Grace")
    ticket = await desk.open_ticket(channel="phone")
    await desk.carry_out_effects()

    rt = desk.rt.tickets[await desk.rt_ticket_of(ticket)]
    assert (rt.queue, rt.requestor, rt.subject, rt.owner) == (
        "firstcall",
        "ada@example.com",
        "Card payment declined",
        "grace",
    )
    assert rt.fields["ticket"] == ticket["id"]
    assert "My card was declined at the checkout" in rt.text
    assert "Opened in firstcall on phone, priority normal" in rt.text
    [context] = desk.rt.comments(rt.id)
    assert "firstcall assigned this ticket to Grace" in context
    assert "credit up to 50.00 EUR without approval" in context
    assert "known as email ada@example.com" in context


async def test_a_phone_only_customer_gets_a_placeholder_requestor_naming_them(desk: Desk) -> None:
    ticket = await desk.open_ticket(customer={"phone": "+44 20 7946 0958"})
    await desk.carry_out_effects()

    rt = desk.rt.tickets[await desk.rt_ticket_of(ticket)]
    assert rt.requestor == f"customer-{ticket['customer_id']}@phone.firstcall.invalid"


async def test_a_ticket_nobody_can_take_waits_unowned_and_says_why(desk: Desk) -> None:
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()

    rt = desk.rt.tickets[await desk.rt_ticket_of(ticket)]
    assert rt.owner is None
    assert any("No capable agent was free" in c for c in desk.rt.comments(rt.id))


async def test_an_agent_without_an_rt_user_leaves_the_owner_and_rt_is_told(desk: Desk) -> None:
    await desk.agent("Grace", rt_user="")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()

    rt = desk.rt.tickets[await desk.rt_ticket_of(ticket)]
    assert rt.owner is None
    assert any("assigned this ticket to Grace, who has no RT user linked" in c for c in desk.rt.comments(rt.id))


@pytest.mark.parametrize("desk_overrides", [{"queue_map": {"intent:unknown": "firstcall-billing"}}])
async def test_the_queue_follows_the_mapped_intent_and_an_unknown_queue_falls_back(desk: Desk) -> None:
    first = await desk.open_ticket()
    await desk.carry_out_effects()
    desk.rt.queues.discard("firstcall-billing")
    second = await desk.open_ticket(subject="Another card problem")
    await desk.carry_out_effects()

    assert desk.rt.tickets[await desk.rt_ticket_of(first)].queue == "firstcall-billing"
    fallback = desk.rt.tickets[await desk.rt_ticket_of(second)]
    assert fallback.queue == "firstcall"
    assert "queue firstcall-billing was refused by RT" in fallback.text


async def test_a_problem_is_told_on_each_member_ticket_and_its_resolution_too(desk: Desk) -> None:
    texts = ["Card payment declined", "Parcel arrived broken", "Cannot reset my password"]
    tickets = [
        await desk.open_ticket(customer={"email": f"c{i}@example.com"}, subject=text, description=f"{text}, help")
        for i, text in enumerate(texts)
    ]
    await desk.carry_out_effects()
    problem_id, now = uuid.uuid4(), datetime.now(UTC)
    members = [uuid.UUID(t["id"]) for t in tickets]
    await desk.bus.publish(
        ProblemDetected.topic.name,
        [
            ProblemDetected(
                problem_id=problem_id,
                summary_text="Card payments declined at checkout",
                representative_reports=["declined"],
                customer_count=3,
                report_count=3,
                first_seen=now,
                last_seen=now,
                growth_per_hour=3.0,
                severity="minor",
                ticket_ids=members,
                detected_at=now,
            ).to_cloudevent()
        ],
    )
    await desk.carry_out_effects()
    await desk.bus.publish(
        ProblemResolved.topic.name,
        [
            ProblemResolved(
                problem_id=problem_id, ticket_ids=members, resolution="bank fixed 3-D Secure", resolved_at=now
            ).to_cloudevent()
        ],
    )
    await desk.carry_out_effects()

    for ticket in tickets:
        rt = desk.rt.tickets[await desk.rt_ticket_of(ticket)]
        comments = desk.rt.comments(rt.id)
        assert sum("part of a problem detected" in c for c in comments) == 1
        assert any("2 other customers report it" in c for c in comments)
        assert sum("resolved: bank fixed 3-D Secure" in c for c in comments) == 1
        assert rt.fields["problem"] == "resolved: bank fixed 3-D Secure"


async def test_an_sla_breach_is_visible_on_the_rt_ticket(desk: Desk) -> None:
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()
    now = datetime.now(UTC)
    breach = SlaBreached(
        ticket_id=uuid.UUID(ticket["id"]),
        customer_id=uuid.UUID(ticket["customer_id"]),
        priority="normal",
        due_at=now,
        breached_at=now,
        agent_id=None,
        action="team_lead_notified",
    )
    await desk.bus.publish(SlaBreached.topic.name, [breach.to_cloudevent()])
    await desk.carry_out_effects()

    comments = desk.rt.comments(await desk.rt_ticket_of(ticket))
    assert any("No first response by" in c and "the team lead was told" in c for c in comments)
    assert all(e.status == DONE for e in await desk.effects())
