"""Ledgerly, the demo's small contact center, created through the public API from seed.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.demo.client import DemoFailure, Services, call, still, until
from services.demo.message_desk import MessageDesk
from services.embedded import Say

SEED = Path(__file__).with_name("seed.json")


def load_seed(path: Path = SEED) -> dict[str, Any]:
    seed: dict[str, Any] = json.loads(path.read_text())
    return seed


@dataclass
class ContactCenter:
    """What the seeding created, by name: the story refers to agents, customers and orders by them."""

    seed: dict[str, Any]
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # display name -> AgentRead
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # external ref -> OrderRead
    customers: dict[str, str] = field(default_factory=dict)  # name -> customer id

    def agent_name(self, agent_id: str | None) -> str:
        return next((name for name, a in self.agents.items() if a["id"] == agent_id), "nobody")


async def seed_contact_center(
    services: Services, desk: MessageDesk, *, tell: Say, seed: dict[str, Any]
) -> ContactCenter:
    """Agents, a trained intent model, articles and a known issue, customers with orders and history."""
    center = ContactCenter(seed)
    tell("Seeding Ledgerly, a small digital bank with a card shop, through the public API:")
    for body in seed["agents"]:
        center.agents[body["display_name"]] = await call(services.router, "POST", "/v1/agents", body)
    tell(f"  {len(center.agents)} agents: " + "; ".join(_agent_line(a) for a in seed["agents"]))
    await _train_intents(services, seed, tell=tell)
    for article in seed["articles"]:
        await call(services.knowledge, "POST", "/v1/articles", article)
    await call(services.knowledge, "POST", "/v1/known-issues", seed["known_issue"])
    tell(f"  {len(seed['articles'])} knowledge articles and a known issue ({seed['known_issue']['title']})")
    await call(
        services.notifier,
        "POST",
        "/v1/subscriptions",
        {"url": desk.url, "event_types": ["customer.message"], "secret": desk.secret, "team": "contact-center"},
    )
    tell("  the contact center's message desk subscribed to customer messages (for customers without email)")
    await _customers(services, center, tell=tell)
    return center


def _agent_line(agent: dict[str, Any]) -> str:
    credit = agent["authority"].get("credit", {}).get("EUR")
    may = f"may credit {credit} EUR" if credit else "no authority to credit"
    return f"{agent['display_name']} ({', '.join(agent['skills'])}; {may})"


async def _train_intents(services: Services, seed: dict[str, Any], *, tell: Say) -> None:
    examples = [{"text": text, "intent": intent} for intent, texts in seed["examples"].items() for text in texts]
    await call(services.router, "POST", "/v1/intents/examples", {"examples": examples})
    for intent, profile in seed["intents"].items():
        await call(services.router, "PUT", f"/v1/intents/{intent}/profile", profile)
    model = await call(services.router, "POST", "/v1/intents/train", {})
    tell(
        f"  {len(seed['intents'])} intents: training the intent model on {len(examples)} BANKING77 examples "
        "(CC BY 4.0), about 10 s..."
    )

    async def trained() -> dict[str, Any] | None:
        current: dict[str, Any] = await call(services.router, "GET", f"/v1/intents/models/{model['id']}")
        return current if current["status"] != "training" else None

    async with still(tell, "training"):
        result = await until(trained, what="the intent model")
    if result["status"] != "ready":
        raise DemoFailure(f"the intent model did not train: {result}")
    tell("    the intent model is ready")


async def _customers(services: Services, center: ContactCenter, *, tell: Say) -> None:
    now = datetime.now(UTC)
    sources: set[str] = set()
    for customer in center.seed["customers"]:
        for order in customer["orders"]:
            body = {key: value for key, value in order.items() if key != "days_ago"}
            body |= {
                "customer": customer["identity"],
                "ordered_at": (now - timedelta(days=order["days_ago"])).isoformat(),
            }
            recorded = await call(services.router, "POST", "/v1/orders", body)
            center.orders[order["external_ref"]] = recorded
            center.customers[customer["name"]] = recorded["customer_id"]
            sources.add(order["source"])
        for number, ticket in enumerate(customer["tickets"]):
            opened = await call(
                services.router,
                "POST",
                "/v1/tickets",
                {"customer": customer["identity"], **ticket},
                **{"Idempotency-Key": f"demo-history-{customer['name']}-{number}".replace(" ", "-")},
            )
            center.customers[customer["name"]] = opened["customer_id"]
    names = ", ".join(c["name"].split()[0] for c in center.seed["customers"])
    tell(
        f"  {len(center.seed['customers'])} customers ({names}) with {len(center.orders)} orders ({', '.join(sorted(sources))})"
    )
    tell("  and Nancy's email of last week: her metal card, paid with express delivery, has not arrived")
