"""The router's promise, end to end on the real stack: the first agent resolves it, no transfer.

A customer with a past order calls by phone; they are matched by phone to their email profile, the ticket
is classified and routed to an agent who can credit, the agent sees the history and the allowed action in
the context, issues the credit, and the ticket counts as resolved at first contact.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import ServiceProcesses
from tests.factories import ADMIN, agent_request, order_request, ticket_request

pytestmark = pytest.mark.e2e

LATE = [
    "my parcel is late and still not delivered",
    "the delivery is days overdue",
    "order has not arrived on the promised date",
    "courier is late with my package",
    "my order is delayed again",
]
CARD = [
    "my card was declined at the shop",
    "card payment refused at checkout",
    "why was my card rejected",
    "payment with my card failed",
    "the card terminal declined my card",
]


async def call(client: httpx.AsyncClient, method: str, path: str, body: Any = None, **headers: str) -> Any:
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


async def trained_classifier(router: httpx.AsyncClient) -> None:
    examples = [{"text": t, "intent": "late_delivery"} for t in LATE] + [
        {"text": t, "intent": "card_declined"} for t in CARD
    ]
    await call(router, "POST", "/v1/intents/examples", {"examples": examples})
    await call(
        router,
        "PUT",
        "/v1/intents/late_delivery/profile",
        {"required_skills": {"orders": 2}, "likely_resolution": "credit"},
    )
    model = await call(router, "POST", "/v1/intents/train", {})

    async def ready() -> dict[str, Any] | None:
        current: dict[str, Any] = await call(router, "GET", f"/v1/intents/models/{model['id']}")
        return current if current["status"] != "training" else None

    assert (await wait_until(ready, timeout=120, every=0.5))["status"] == "ready"


async def test_a_phone_caller_is_recognised_routed_to_an_agent_who_can_credit_and_resolved_first_time(
    services: ServiceProcesses,
) -> None:
    async with httpx.AsyncClient(base_url=services.url("router"), headers=ADMIN, timeout=30) as router:
        await trained_classifier(router)
        email, phone = "grace.e2e@example.com", "+44 20 7946 0001"
        earlier = await call(
            router,
            "POST",
            "/v1/tickets",
            ticket_request(channel="email", customer={"email": email, "phone": phone, "name": "Grace"}),
        )
        order = await call(router, "POST", "/v1/orders", order_request(customer={"email": email}))
        cannot = await call(
            router,
            "POST",
            "/v1/agents",
            agent_request(display_name="No credit", skills={"orders": 4}, authority={}, capacity={"phone": 3}),
        )
        able = await call(
            router,
            "POST",
            "/v1/agents",
            agent_request(display_name="Can credit", skills={"orders": 3}, capacity={"phone": 1}),
        )
        ticket = await call(
            router,
            "POST",
            "/v1/tickets",
            ticket_request(
                channel="phone",
                customer={"phone": "+442079460001"},
                subject="Parcel late",
                description="my order is delayed again and still not delivered",
            ),
        )
        assert ticket["customer_id"] == earlier["customer_id"], "matched by phone to the email profile"
        assert ticket["intent"] == "late_delivery"
        assert ticket["agent_id"] == able["id"]
        routing = await call(router, "GET", f"/v1/tickets/{ticket['id']}/routing")
        reasons = {c["agent_id"]: c["reasons"] for c in routing["decisions"][0]["candidates"]}
        assert reasons[cannot["id"]] == ["no authority for credit"]

        issued = await call(
            router, "POST", "/v1/api-keys", {"name": "Can credit", "scopes": ["agent"], "agent_id": able["id"]}
        )
        agent_key = {"Authorization": f"Bearer {issued['key']}"}
        context = await call(router, "GET", f"/v1/tickets/{ticket['id']}/context", **agent_key)
        history = {item["kind"] for item in context["customer"]["recent_history"]}
        assert {"ticket.opened", "order.recorded"} <= history
        assert f"credit up to 50.00 EUR on order {order['external_ref']} without approval" in [
            action["summary"] for action in context["allowed_actions"]
        ]

        credited = await call(
            router,
            "POST",
            f"/v1/tickets/{ticket['id']}/resolutions",
            {
                "type": "credit",
                "amount": "15.00",
                "currency": "EUR",
                "reason": "late delivery",
                "order_id": order["id"],
            },
            **agent_key,
            **{"Idempotency-Key": f"credit-{ticket['id']}"},
        )
        assert credited["outcome"] == "executed"
        assert credited["ticket_status"] == "resolved"

        stats = await call(router, "GET", "/v1/stats?group_by=intent")
        late = stats["groups"]["late_delivery"]
        assert late["first_contact_resolved"] >= 1
        assert late["transfers_by_reason"] == {}
