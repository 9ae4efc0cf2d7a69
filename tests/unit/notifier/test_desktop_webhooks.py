"""Desktop webhooks: who hears which router event (agent, team, center; the kinds chosen), once per event and
subscription however often the event arrives, signed with a secret only the subscriber holds, retried,
dead-lettered and replayed like every delivery."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from services.notifier.subscriptions.signing import verify_signature
from tests.conftest import wait_until
from tests.unit.notifier.conftest import Notifier
from tests.unit.notifier.desktop_events import (
    approval,
    assigned,
    at_risk,
    breached,
    owner_changed,
    problem_linked,
    registered,
    transferred,
)
from tests.unit.notifier.receivers import WebhookReceiver, webhook_receiver


def webhook(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "audience": "center",
        "url": "https://desk.example.com/hook",
        "event_types": ["ticket.assigned"],
    }
    return {**body, **overrides}


async def subscribe(notifier: Notifier, receiver: WebhookReceiver, **overrides: Any) -> str:
    """Subscribe the receiver, and give it the secret the notifier issued."""
    response = await notifier.client.post("/v1/desktop-webhooks", json=webhook(url=receiver.url, **overrides))
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    subscription_id: str = response.json()["id"]
    return subscription_id


async def deliveries(notifier: Notifier, subscription_id: str, **params: str) -> list[dict[str, Any]]:
    query = {"subscription_id": subscription_id, **params}
    items: list[dict[str, Any]] = (await notifier.client.get("/v1/notifications", params=query)).json()["items"]
    return items


async def test_an_agents_webhook_gets_a_signed_assignment_of_that_agent_only(notifier: Notifier) -> None:
    grace, alan = uuid.uuid4(), uuid.uuid4()
    async with webhook_receiver() as receiver:
        subscription_id = await subscribe(notifier, receiver, audience="agent", agent_id=str(grace))
        mine = assigned(grace)
        await notifier.publish(assigned(alan), mine)
        [delivery] = await wait_until(receiver.arrived)
    assert delivery.signature_ok
    assert delivery.headers["x-firstcall-event"] == "ticket.assigned"
    body = delivery.json
    assert (body["type"], body["subject"], body["audience"]) == (
        "firstcall.ticket.assigned",
        str(mine.ticket_id),
        "agent",
    )
    assert body["concerns"] == [{"agent_id": str(grace), "concern": "assignee", "team": None}]
    assert body["data"]["agent_id"] == str(grace)
    assert body["subscription_id"] == subscription_id
    assert len(await deliveries(notifier, subscription_id)) == 1


async def test_a_team_webhook_hears_what_concerns_its_agents_and_no_one_elses(notifier: Notifier) -> None:
    grace, alan, ada = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await notifier.publish(registered(grace, "payments"), registered(alan, "returns"), registered(ada, "payments"))
    async with webhook_receiver() as receiver:
        subscription_id = await subscribe(
            notifier, receiver, audience="team", team="payments", event_types=["ticket.assigned", "ticket.transferred"]
        )
        await notifier.publish(assigned(alan), assigned(grace), transferred(grace, ada))
        received = await wait_until(lambda: _at_least(receiver, 2))
    assert [r.json["event"] for r in received] == ["ticket.assigned", "ticket.transferred"]
    assert received[1].json["concerns"] == [
        {"agent_id": str(ada), "concern": "transferred_to", "team": "payments"},
        {"agent_id": str(grace), "concern": "transferred_from", "team": "payments"},
    ]
    assert len(await deliveries(notifier, subscription_id)) == 2


async def _at_least(receiver: WebhookReceiver, count: int) -> list[Any]:
    accepted = receiver.accepted()
    return sorted(accepted, key=lambda r: r.json["event"]) if len(accepted) >= count else []


async def test_a_center_webhook_hears_every_agent_but_only_the_kinds_it_chose(notifier: Notifier) -> None:
    async with webhook_receiver() as receiver:
        subscription_id = await subscribe(notifier, receiver, event_types=["ticket.sla_breached", "ticket.sla_at_risk"])
        await notifier.publish(assigned(uuid.uuid4()), at_risk(uuid.uuid4()), breached(None))
        received = await wait_until(lambda: _at_least(receiver, 2))
    assert [r.json["event"] for r in received] == ["ticket.sla_at_risk", "ticket.sla_breached"]
    assert received[1].json["concerns"] == []  # breached while queued: nobody's, still the center's
    assert len(await deliveries(notifier, subscription_id)) == 2


async def test_a_breach_that_took_the_ticket_away_reaches_the_agent_who_had_it(notifier: Notifier) -> None:
    grace, alan = uuid.uuid4(), uuid.uuid4()
    async with webhook_receiver() as receiver:
        await subscribe(notifier, receiver, audience="agent", agent_id=str(grace), event_types=["ticket.sla_breached"])
        await notifier.publish(breached(alan, taken_from=grace))
        [delivery] = await wait_until(receiver.arrived)
    assert delivery.json["concerns"] == [{"agent_id": str(grace), "concern": "previous_agent", "team": None}]
    assert delivery.json["data"]["previous_agent_id"] == str(grace)
    assert delivery.json["data"]["agent_id"] == str(alan)


async def test_an_approval_decision_reaches_the_agent_who_asked_for_it(notifier: Notifier) -> None:
    grace = uuid.uuid4()
    requested, decided = approval(grace, approved=False)
    async with webhook_receiver() as receiver:
        await subscribe(
            notifier, receiver, audience="agent", agent_id=str(grace), event_types=["resolution.approval_decided"]
        )
        await notifier.publish(requested, decided)
        [delivery] = await wait_until(receiver.arrived)
    assert delivery.json["concerns"] == [{"agent_id": str(grace), "concern": "requester", "team": None}]
    assert delivery.json["data"]["approved"] is False


async def test_each_of_the_seven_kinds_reaches_the_agent_in_its_part(notifier: Notifier) -> None:
    grace, alan = uuid.uuid4(), uuid.uuid4()
    requested, decided = approval(grace, approved=True)
    kinds = [
        "ticket.assigned",
        "ticket.transferred",
        "resolution.approval_decided",
        "ticket.sla_at_risk",
        "ticket.sla_breached",
        "customer.owner_changed",
        "ticket.problem_linked",
    ]
    async with webhook_receiver() as receiver:
        await subscribe(notifier, receiver, audience="agent", agent_id=str(grace), event_types=kinds)
        events = [assigned(grace), transferred(alan, grace), requested, decided, at_risk(grace), breached(grace)]
        await notifier.publish(*events, owner_changed(alan, grace), problem_linked(grace))
        received = await wait_until(lambda: _at_least(receiver, 7))
    parts = {r.json["event"]: [c["concern"] for c in r.json["concerns"]] for r in received}
    assert parts == {
        "ticket.assigned": ["assignee"],
        "ticket.transferred": ["transferred_to"],
        "resolution.approval_decided": ["requester"],
        "ticket.sla_at_risk": ["ticket_agent"],
        "ticket.sla_breached": ["ticket_agent"],
        "customer.owner_changed": ["previous_owner"],
        "ticket.problem_linked": ["ticket_agent"],
    }
    assert all(r.signature_ok for r in received)


async def test_a_redelivered_event_makes_one_delivery_per_subscription(notifier: Notifier) -> None:
    grace = uuid.uuid4()
    event = assigned(grace)
    envelope = event.to_cloudevent()
    topic = notifier.settings.topic(event.topic.name)
    async with webhook_receiver() as receiver:
        agents = await subscribe(notifier, receiver, audience="agent", agent_id=str(grace))
        center = await subscribe(notifier, receiver)
        receiver.secret = ""  # two secrets: this test counts deliveries, the others check signatures
        await notifier.bus.publish(topic, [envelope])
        await notifier.bus.publish(topic, [envelope])  # the bus's at-least-once: the inbox drops it
        await notifier.bus.publish(topic, [event.to_cloudevent()])  # published twice: the dedupe key drops it
        await notifier.bus.wait_idle()
        per_subscription = [len(await deliveries(notifier, s)) for s in (agents, center)]
    assert per_subscription == [1, 1]


async def test_the_secret_is_shown_once_derived_again_on_replay_and_stored_nowhere(notifier: Notifier) -> None:
    headers = {"Idempotency-Key": "desk-1"}
    first = await notifier.client.post("/v1/desktop-webhooks", json=webhook(), headers=headers)
    again = await notifier.client.post("/v1/desktop-webhooks", json=webhook(), headers=headers)
    read = await notifier.client.get(f"/v1/desktop-webhooks/{first.json()['id']}")
    secret = first.json()["secret"]
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert secret.startswith("whsec_")
    assert "secret" not in read.json()
    assert not await _stored_anywhere(notifier, secret)
    assert "subscriptions" in await _stored_anywhere(notifier, uuid.UUID(first.json()["id"]).hex)  # the scan works


async def _stored_anywhere(notifier: Notifier, value: str) -> list[str]:
    found = []
    async with notifier.runtime.database.session() as session:
        tables = (await session.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))).scalars().all()
        for table in tables:
            for row in (await session.execute(text(f'SELECT * FROM "{table}"'))).all():
                if any(value in (c.decode(errors="ignore") if isinstance(c, bytes) else str(c)) for c in row):
                    found.append(table)
    return found


async def test_a_receiver_verifies_the_signature_with_the_issued_secret(notifier: Notifier) -> None:
    grace = uuid.uuid4()
    async with webhook_receiver() as receiver:
        await subscribe(notifier, receiver, audience="agent", agent_id=str(grace))
        await notifier.publish(assigned(grace))
        [delivery] = await wait_until(receiver.arrived)
    timestamp, signature = delivery.headers["x-firstcall-timestamp"], delivery.headers["x-firstcall-signature"]
    assert verify_signature(receiver.secret, timestamp=timestamp, signature=signature, body=delivery.body)
    assert not verify_signature(receiver.secret + "x", timestamp=timestamp, signature=signature, body=delivery.body)
    documented = _documented_verify()
    assert documented(receiver.secret, timestamp, signature, delivery.body)
    assert not documented(receiver.secret, timestamp, signature, delivery.body + b" ")


def _documented_verify() -> Callable[[str, str, str, bytes], bool]:
    """The receiver's check as docs/desktop-push.md shows it, so the guide is proven on a real delivery."""
    guide = (Path(__file__).resolve().parents[3] / "docs" / "desktop-push.md").read_text()
    code = guide.split("<!-- verify:", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # our own documentation's snippet
    verify: Callable[[str, str, str, bytes], bool] = namespace["verify"]
    return verify


async def test_a_dead_lettered_desktop_delivery_is_replayed_once(notifier: Notifier) -> None:
    grace = uuid.uuid4()
    async with webhook_receiver() as receiver:
        receiver.fail_next = 10**6
        subscription_id = await subscribe(notifier, receiver, audience="agent", agent_id=str(grace))
        await notifier.publish(assigned(grace))
        [dead] = await wait_until(lambda: deliveries(notifier, subscription_id, status="dead"))
        assert [a["outcome"] for a in dead["log"]] == ["failed"] * notifier.settings.delivery_max_attempts
        receiver.fail_next = 0
        assert (await notifier.client.post(f"/v1/notifications/{dead['id']}/replay")).status_code == 200
        [delivery] = await wait_until(receiver.arrived)
        [sent] = await wait_until(lambda: deliveries(notifier, subscription_id, status="sent"))
    assert sent["id"] == dead["id"] == delivery.headers["x-firstcall-delivery"]
