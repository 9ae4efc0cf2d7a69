"""Each effect in RT happens once: whatever Kafka redelivers, and when the bridge dies after RT's answer."""

from __future__ import annotations

from collections import Counter

from services.helpdesk.effects.models import DONE, PENDING
from shared.events.catalogue import TicketOpened
from shared.events.envelope import from_kafka
from tests.unit.helpdesk.conftest import Desk


async def test_a_redelivered_event_gives_one_rt_ticket(desk: Desk) -> None:
    ticket = await desk.open_ticket()
    await desk.deliver()
    envelopes = [from_kafka(r.value, r.headers) for r in desk.bus.records(TicketOpened.topic.name)]
    [opened] = [e for e in envelopes if e.type == TicketOpened.cloudevent_type()]
    await desk.bus.publish(TicketOpened.topic.name, [opened, opened])
    await desk.carry_out_effects()

    assert len(desk.rt.tickets) == 1
    assert desk.rt.only_ticket().fields["ticket"] == ticket["id"]
    assert [e.kind for e in await desk.effects()].count("create") == 1


async def test_killed_after_rt_created_the_ticket_the_retry_finds_it_instead_of_creating_another(desk: Desk) -> None:
    desk.rt.kill_after.add("create_ticket")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()

    assert len(desk.rt.tickets) == 1
    assert await desk.rt_ticket_of(ticket) == desk.rt.only_ticket().id
    [create] = await desk.effects(kind="create")
    assert (create.status, create.attempts) == (DONE, 1)


async def test_killed_after_rt_took_a_comment_the_retry_finds_its_marker(desk: Desk) -> None:
    await desk.agent("Grace")
    desk.rt.kill_after.add("add_comment")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()

    [context] = desk.rt.comments(await desk.rt_ticket_of(ticket))
    [effect] = await desk.effects(kind="context")
    assert effect.marker in context
    assert (effect.status, effect.attempts) == (DONE, 1)


async def test_killed_after_rt_changed_the_owner_an_agents_later_change_is_not_overridden(desk: Desk) -> None:
    await desk.agent("Grace")
    desk.rt.kill_after.add("change_ticket")
    ticket = await desk.open_ticket()
    await desk.deliver()
    await desk.bridge.worker.run_once()  # created
    await desk.bridge.worker.run_once()  # the owner set to grace, then 'killed'
    rt_id = await desk.rt_ticket_of(ticket)
    alan = await desk.agent("Alan")
    desk.rt.set_owner(rt_id, "grace", "alan")  # before the bridge is back, grace hands it to alan in RT
    await desk.carry_out_effects()  # the owner write waits: an agent's owner change is read back first
    await desk.read_rt()

    assert desk.rt.tickets[rt_id].owner == "alan"
    assert (await desk.router.get(f"/v1/tickets/{ticket['id']}")).json()["agent_id"] == alan["id"]
    owner_changes = [c for c in desk.rt.history if c.kind == "owner" and c.author == "firstcall-bridge"]
    assert [c.new for c in owner_changes] == ["grace"]


async def test_killed_after_rt_changed_the_owner_the_retry_finds_its_change_and_does_not_write_again(
    desk: Desk,
) -> None:
    await desk.agent("Grace")
    desk.rt.kill_after.add("change_ticket")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()

    rt_id = await desk.rt_ticket_of(ticket)
    assert desk.rt.tickets[rt_id].owner == "grace"
    assert [op for op, target in desk.rt.writes if target == rt_id] == ["create_ticket", "change_ticket", "add_comment"]
    [owner] = await desk.effects(kind="owner")
    assert (owner.status, owner.attempts) == (DONE, 1)


async def test_while_rt_is_down_events_wait_and_are_applied_in_order_when_it_is_back(desk: Desk) -> None:
    await desk.agent("Grace", capacity={"phone": 5})
    desk.rt.down = True
    tickets = [await desk.open_ticket(subject=f"Problem {i}") for i in range(2)]
    await desk.deliver()
    for _ in range(3):
        await desk.bridge.worker.run_once()
    assert not desk.rt.tickets
    waiting = await desk.effects(status=PENDING)
    assert Counter(e.kind for e in waiting) == {"create": 2, "owner": 2, "context": 2}
    assert all(e.attempts >= 1 for e in waiting if e.kind == "create")

    desk.rt.down = False
    await desk.carry_out_effects()
    for ticket in tickets:
        rt_id = await desk.rt_ticket_of(ticket)
        writes = [operation for operation, target in desk.rt.writes if target == rt_id]
        assert writes == ["create_ticket", "change_ticket", "add_comment"]
        assert desk.rt.tickets[rt_id].owner == "grace"
