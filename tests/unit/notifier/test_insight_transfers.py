"""Transfers by reason in GET /v1/insights: counted by the intent the ticket was opened with, the team it
left and its channel, once however often the event comes, and as Prometheus series."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.events.catalogue import AgentRegistered, TicketOpened, TicketTransferred
from tests.notifier_factories import report
from tests.unit.notifier.conftest import Notifier, NotifierFactory

PAYMENTS_AGENT = uuid.uuid4()


def transferred(opened: TicketOpened, reason: str, *, minutes_ago: float = 5) -> TicketTransferred:
    return TicketTransferred(
        ticket_id=opened.ticket_id,
        customer_id=opened.customer_id,
        from_agent_id=PAYMENTS_AGENT,
        to_agent_id=None,
        reason=reason,
        note="the customer, Ada, needs a refund over the limit",
        transferred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


async def seed_transfers(notifier: Notifier) -> None:
    """Two refund tickets by email that needed a skill, one chat ticket opened under the wrong intent."""
    await notifier.publish(
        AgentRegistered(
            agent_id=PAYMENTS_AGENT,
            display_name="Bo",
            team="payments",
            skills={"refunds": 2},
            status="available",
            registered_at=datetime.now(UTC),
        )
    )
    refunds = [report(f"Refund {i} not arrived", "Returned it.", intent="refund_request") for i in range(2)]
    chat = report("Where is my parcel", "It is late.", intent="billing_question", channel="chat")
    await notifier.publish(*refunds, chat)
    event = transferred(refunds[0], "missing_skill")
    await notifier.publish(event, transferred(refunds[1], "missing_skill"), transferred(chat, "wrong_intent"))
    await notifier.publish(event)  # the same transfer redelivered (a new envelope): still one


async def test_insights_count_transfers_by_reason_within_intent_team_and_channel(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier()
    await seed_transfers(notifier)
    response = await notifier.client.get("/v1/insights")
    assert response.status_code == 200, response.text
    transfers = response.json()["transfers"]
    assert transfers["total"] == 3
    assert transfers["by_reason"] == {"missing_skill": 2, "wrong_intent": 1}
    assert transfers["by_intent"] == {"billing_question": {"wrong_intent": 1}, "refund_request": {"missing_skill": 2}}
    assert transfers["by_team"] == {"payments": {"missing_skill": 2, "wrong_intent": 1}}
    assert transfers["by_channel"] == {"chat": {"wrong_intent": 1}, "email": {"missing_skill": 2}}


async def test_transfers_outside_the_range_are_not_counted(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    await seed_transfers(notifier)
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    transfers = (await notifier.client.get("/v1/insights", params={"from": since})).json()["transfers"]
    assert (transfers["total"], transfers["by_reason"], transfers["by_team"]) == (0, {}, {})


async def test_transfers_are_prometheus_series_by_reason_intent_team_and_channel(
    make_notifier: NotifierFactory,
) -> None:
    notifier = await make_notifier()
    await seed_transfers(notifier)
    await notifier.runtime.extensions["feedback_escalator"].check()
    scraped = (await notifier.client.get("/metrics")).text
    assert (
        'firstcall_notifier_transfers{channel="email",intent="refund_request",reason="missing_skill",team="payments"}'
        " 2.0" in scraped
    )
    assert (
        'firstcall_notifier_transfers{channel="chat",intent="billing_question",reason="wrong_intent",team="payments"}'
        " 1.0" in scraped
    )
