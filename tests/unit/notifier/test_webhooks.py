"""Webhook deliveries against a local receiver that checks signatures and fails on purpose: signed,
retried with backoff, paused by a circuit, dead-lettered after the budget, replayable, never sent twice."""

from __future__ import annotations

import time
from typing import Any

from services.notifier.subscriptions.signing import sign, verify_signature
from tests.conftest import wait_until
from tests.notifier_factories import outage
from tests.unit.notifier.conftest import Notifier, NotifierFactory
from tests.unit.notifier.receivers import WebhookReceiver, webhook_receiver


async def subscribe(notifier: Notifier, receiver: WebhookReceiver, *types: str, **extra: Any) -> str:
    body = {"url": receiver.url, "event_types": list(types), "secret": receiver.secret, **extra}
    response = await notifier.client.post("/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text
    subscription_id: str = response.json()["id"]
    return subscription_id


async def notifications(notifier: Notifier, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await notifier.client.get("/v1/notifications", params=params)).json()["items"]
    return items


def test_a_signature_verifies_only_for_the_same_secret_body_and_a_fresh_timestamp() -> None:
    now = time.time()
    signature = sign("secret-0123456789", int(now), b'{"a":1}')
    assert verify_signature("secret-0123456789", timestamp=str(int(now)), signature=signature, body=b'{"a":1}', now=now)
    assert not verify_signature("other-0123456789", timestamp=str(int(now)), signature=signature, body=b'{"a":1}')
    assert not verify_signature("secret-0123456789", timestamp=str(int(now)), signature=signature, body=b'{"a":2}')
    late = now + 301
    assert not verify_signature(
        "secret-0123456789", timestamp=str(int(now)), signature=signature, body=b'{"a":1}', now=late
    )


async def test_ops_get_a_signed_problem_detected_with_the_event_itself(notifier: Notifier) -> None:
    async with webhook_receiver() as receiver:
        await subscribe(notifier, receiver, "problem.detected")
        await notifier.publish(*outage(3))
        [delivery] = await wait_until(receiver.arrived)
    assert delivery.signature_ok
    assert delivery.headers["x-firstcall-event"] == "problem.detected"
    assert delivery.json["type"] == "firstcall.problem.detected"
    assert delivery.json["data"]["customer_count"] == 3


async def test_a_receiver_answering_500_is_retried_until_it_accepts_once(notifier: Notifier) -> None:
    async with webhook_receiver() as receiver:
        receiver.fail_next = 2
        await subscribe(notifier, receiver, "problem.detected")
        await notifier.publish(*outage(3))
        await wait_until(receiver.arrived)
        [sent] = await wait_until(lambda: notifications(notifier, status="sent", event_type="problem.detected"))
    assert len(receiver.received) == 3
    assert len(receiver.accepted()) == 1
    assert [a["outcome"] for a in sent["log"]] == ["failed", "failed", "delivered"]
    assert [a["status_code"] for a in sent["log"]] == [500, 500, 204]


async def test_a_slow_receiver_times_out_and_is_retried(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(delivery_timeout_seconds=0.2, delivery_max_attempts=5)
    async with webhook_receiver() as receiver:
        receiver.delay = 0.5
        await subscribe(notifier, receiver, "problem.detected")
        await notifier.publish(*outage(3))
        [failed] = await wait_until(lambda: notifications(notifier, event_type="problem.detected"))
        await wait_until(lambda: _has_attempts(notifier, 2))
        receiver.delay = 0
        [sent] = await wait_until(lambda: notifications(notifier, status="sent", event_type="problem.detected"))
    assert "Timeout" in (sent["log"][0]["error"] or "")
    assert sent["log"][-1]["outcome"] == "delivered"
    assert failed["id"] == sent["id"]


async def _has_attempts(notifier: Notifier, count: int) -> bool:
    items = await notifications(notifier, event_type="problem.detected")
    return bool(items) and len(items[0]["log"]) >= count


async def test_after_the_retry_budget_a_delivery_is_dead_lettered_then_replayed_once(notifier: Notifier) -> None:
    async with webhook_receiver() as receiver:
        receiver.fail_next = 10**6
        await subscribe(notifier, receiver, "problem.detected")
        await notifier.publish(*outage(3))
        [dead] = await wait_until(lambda: notifications(notifier, status="dead", event_type="problem.detected"))
        assert dead["attempts"] == notifier.settings.delivery_max_attempts
        assert receiver.accepted() == []

        receiver.fail_next = 0
        replayed = await notifier.client.post(f"/v1/notifications/{dead['id']}/replay")
        assert replayed.status_code == 200
        await wait_until(receiver.arrived)
        [sent] = await wait_until(lambda: notifications(notifier, status="sent", event_type="problem.detected"))
        again = await notifier.client.post(f"/v1/notifications/{dead['id']}/replay")
    assert again.status_code == 409
    assert len(receiver.accepted()) == 1
    assert sent["id"] == dead["id"]


async def test_a_receiver_that_rejects_the_request_is_dead_lettered_without_retries(notifier: Notifier) -> None:
    async with webhook_receiver() as receiver:
        receiver.fail_next, receiver.failure_status = 10**6, 410
        await subscribe(notifier, receiver, "problem.detected")
        await notifier.publish(*outage(3))
        [dead] = await wait_until(lambda: notifications(notifier, status="dead", event_type="problem.detected"))
    assert [a["outcome"] for a in dead["log"]] == ["rejected"]


async def test_a_down_receiver_opens_its_circuit_and_deliveries_wait_without_spending_attempts(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier(circuit_failure_threshold=2, circuit_open_seconds=0.3, delivery_max_attempts=4)
    async with webhook_receiver() as receiver:
        receiver.fail_next = 3  # two failures open the circuit; the trial after the pause fails too
        await subscribe(notifier, receiver, "problem.detected")
        await notifier.publish(*outage(3))
        [sent] = await wait_until(lambda: notifications(notifier, status="sent", event_type="problem.detected"))
    outcomes = [a["outcome"] for a in sent["log"]]
    assert outcomes.count("failed") == 3
    assert outcomes.index("deferred") == 2, "paused right after the circuit opened"
    assert outcomes[-1] == "delivered"
    assert sent["attempts"] == 4, "waiting for the circuit spent no attempt"
    assert len(receiver.accepted()) == 1


async def test_a_deleted_subscription_gets_nothing_more(notifier: Notifier) -> None:
    async with webhook_receiver() as receiver:
        subscription_id = await subscribe(notifier, receiver, "problem.detected", "problem.updated")
        await notifier.publish(*outage(3))
        await wait_until(receiver.arrived)
        await notifier.client.delete(f"/v1/subscriptions/{subscription_id}")
        await notifier.publish(*outage(1))
    assert len(receiver.accepted()) == 1


async def test_an_unknown_notification_is_a_404_problem(notifier: Notifier) -> None:
    response = await notifier.client.post("/v1/notifications/00000000-0000-0000-0000-000000000000/replay")
    assert response.status_code == 404
