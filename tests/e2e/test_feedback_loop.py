"""Five customers say in different words that the same email gives wrong instructions: the router hears
each as feedback and resolves it at first contact quoting them; the notifier makes one cluster of five
voices owned by the team the mapping names; the owner accepts it with a change and each customer is told
once, their own words quoted; the insights show it decided; a customer whose ticket the router counted as
resolved at first contact answers "no", and the insights show the gap between the two FCR figures."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import ServiceProcesses
from tests.factories import ADMIN, agent_request, ticket_request
from tests.unit.notifier.receivers import Mailbox, smtp_server
from tests.unit.notifier.test_feedback import WRONG_EMAIL
from tests.unit.router.test_feedback import FEEDBACK_EXAMPLES
from tests.unit.router.test_intents import EXAMPLES

pytestmark = pytest.mark.e2e

SETTINGS = {
    "FIRSTCALL_ROUTER_FEEDBACK_INTENTS": json.dumps({"procedure_feedback": "suggestion"}),
    "FIRSTCALL_NOTIFIER_FEEDBACK_OWNERS": json.dumps({"intent:procedure_feedback": "billing-communications"}),
    "FIRSTCALL_NOTIFIER_QUESTION_ENABLED": "true",
    "FIRSTCALL_NOTIFIER_WEBHOOK_ALLOW_HTTP": "true",
    "FIRSTCALL_NOTIFIER_DELIVERY_BACKOFF_INITIAL_SECONDS": "0.2",
    "FIRSTCALL_NOTIFIER_DELIVERY_POLL_INTERVAL_MS": "100",
}


def restart_with(services: ServiceProcesses, settings: dict[str, str | None]) -> None:
    for name, value in settings.items():
        if value is None:
            services.env.pop(name, None)
        else:
            services.env[name] = value
    for service in ("router", "notifier"):
        services.stop(service)
        services.start(service)
    for service in ("router", "notifier"):
        services.wait_ready(service)


async def train(client: httpx.AsyncClient, router: str) -> None:
    texts = {**EXAMPLES, "procedure_feedback": FEEDBACK_EXAMPLES}
    examples = [{"text": text, "intent": intent} for intent, group in texts.items() for text in group]
    assert (await client.post(f"{router}/v1/intents/examples", json={"examples": examples})).status_code == 201
    location = (await client.post(f"{router}/v1/intents/train", json={})).headers["location"]

    async def ready() -> bool:
        return bool((await client.get(f"{router}{location}")).json()["status"] == "ready")

    await wait_until(ready, timeout=180, every=0.5)


async def test_five_voices_one_owner_everyone_told_once_and_the_fcr_gap(services: ServiceProcesses) -> None:
    async with smtp_server() as mailbox:
        settings = {**SETTINGS, "FIRSTCALL_NOTIFIER_SMTP_PORT": str(mailbox.port)}
        await asyncio.to_thread(restart_with, services, dict(settings))
        try:
            await _the_story(services, mailbox)
        finally:
            await asyncio.to_thread(restart_with, services, dict.fromkeys(settings))


async def _the_story(services: ServiceProcesses, mailbox: Mailbox) -> None:
    router, notifier = services.url("router"), services.url("notifier")
    async with httpx.AsyncClient(timeout=20, headers=ADMIN) as client:
        await train(client, router)
        for i, (subject, description) in enumerate(WRONG_EMAIL):
            body = ticket_request(
                customer={"email": f"e2e-feedback-{i}@example.com", "name": f"Voice {i}"},
                subject=subject,
                description=description,
                channel="email",
                attributes={},
            )
            ticket = (await client.post(f"{router}/v1/tickets", json=body)).json()
            assert (ticket["status"], ticket["attributes"].get("feedback")) == ("resolved", "suggestion"), ticket

        async def one_cluster_of_five() -> dict[str, Any] | None:
            items = (await client.get(f"{notifier}/v1/feedback")).json()["items"]
            return items[0] if len(items) == 1 and items[0]["customer_count"] == 5 else None

        cluster = await wait_until(one_cluster_of_five, timeout=120, every=0.5)
        assert (cluster["owner"], cluster["unowned"]) == ("billing-communications", False)
        decision = {
            "decision": "accepted",
            "change": "the email now says to use the website, with the link",
            "change_due": "from the next mailing",
            "reason": "calling cannot change this setting; the email was wrong",
        }
        decided = await client.post(f"{notifier}/v1/feedback/{cluster['id']}/decision", json=decision)
        assert decided.status_code == 200, decided.text

        async def all_told() -> bool:
            return len(_outcomes(mailbox)) >= 5

        await wait_until(all_told, timeout=120, every=0.5)
        await asyncio.sleep(2)  # anything sent twice would have arrived by now
        told = _outcomes(mailbox)
        assert told == Counter({f"e2e-feedback-{i}@example.com": 1 for i in range(5)})
        for i, (subject, _) in enumerate(WRONG_EMAIL):
            [message] = [m for m in mailbox.to(f"e2e-feedback-{i}@example.com") if _is_outcome(m)]
            assert f"You told us: “{subject}" in _body(message)

        await _a_no_on_a_first_contact_ticket(client, router, notifier, mailbox)
        insight = (await client.get(f"{notifier}/v1/insights")).json()
        [top] = [item for item in insight["top_feedback"] if item["id"] == cluster["id"]]
        assert (top["status"], top["decision"], top["customers"]) == ("decided", "accepted", 5)
        fcr = insight["first_contact"]
        assert fcr["disputed"] >= 1
        assert fcr["gap"] > 0


async def _a_no_on_a_first_contact_ticket(
    client: httpx.AsyncClient, router: str, notifier: str, mailbox: Mailbox
) -> None:
    agent = (await client.post(f"{router}/v1/agents", json=agent_request())).json()
    body = ticket_request(
        customer={"email": "e2e-question@example.com", "name": "Asked"},
        subject="My refund has not arrived",
        description="I returned the shoes two weeks ago and I am still waiting for the money.",
        channel="email",
    )
    ticket = (await client.post(f"{router}/v1/tickets", json=body)).json()
    resolution = {"type": "answer", "reason": "explained the refund timing", "agent_id": agent["id"]}
    assert (await client.post(f"{router}/v1/tickets/{ticket['id']}/resolutions", json=resolution)).status_code == 201

    async def asked() -> bool:
        return any("One question" in str(m["Subject"]) for m in mailbox.to("e2e-question@example.com"))

    await wait_until(asked, timeout=120, every=0.5)
    answer = await client.post(f"{notifier}/v1/questions/{ticket['id']}/answer", json={"resolved": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["disputed"] is True


def _is_outcome(message: Any) -> bool:
    return "feedback" in str(message["Subject"]) or "changing" in str(message["Subject"])


def _outcomes(mailbox: Mailbox) -> Counter[str]:
    return Counter(str(m["To"]) for m in mailbox.messages if _is_outcome(m))


def _body(message: Any) -> str:
    payload = message.get_payload(decode=True)
    return payload.decode(message.get_content_charset() or "utf-8") if isinstance(payload, bytes) else str(payload)
