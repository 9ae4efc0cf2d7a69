"""Five customers, one outage, five ways to say it: the notifier (a process on Kafka and PostgreSQL) finds
the problem and alerts ops through their webhook; knowledge drafts a known issue, so the next customer's
agent sees it (and the problem) in the router's context at first contact; ops resolve it, the known issue
shows the fix, and each affected customer is told exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import ServiceProcesses
from tests.factories import ADMIN, ticket_request
from tests.notifier_factories import OUTAGE_REPORTS
from tests.unit.notifier.receivers import Mailbox, WebhookReceiver, smtp_server, webhook_receiver

pytestmark = pytest.mark.e2e


def restart_notifier_for_local_receivers(services: ServiceProcesses, mailbox: Mailbox) -> None:
    """The receivers of this test listen on plain http on loopback, and nobody should wait on backoff."""
    services.env.update(
        {
            "FIRSTCALL_NOTIFIER_WEBHOOK_ALLOW_HTTP": "true",
            "FIRSTCALL_NOTIFIER_SMTP_PORT": str(mailbox.port),
            "FIRSTCALL_NOTIFIER_DELIVERY_BACKOFF_INITIAL_SECONDS": "0.2",
            "FIRSTCALL_NOTIFIER_DELIVERY_POLL_INTERVAL_MS": "100",
        }
    )
    services.stop("notifier")
    services.start("notifier")


async def subscribe(client: httpx.AsyncClient, url: str, receiver: WebhookReceiver, *types: str) -> None:
    body = {"url": receiver.url, "event_types": list(types), "secret": receiver.secret, "team": "payments"}
    response = await client.post(f"{url}/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text


async def test_five_customers_one_outage_ops_alerted_and_everyone_told_once(services: ServiceProcesses) -> None:
    async with smtp_server() as mailbox:
        await asyncio.to_thread(restart_notifier_for_local_receivers, services, mailbox)
        notifier, router = services.url("notifier"), services.url("router")
        async with (
            webhook_receiver("ops-shared-secret-0001") as ops,
            webhook_receiver("center-shared-secret-01") as center,
            httpx.AsyncClient(timeout=10, headers=ADMIN) as client,
        ):
            await subscribe(client, notifier, ops, "problem.detected", "problem.resolved")
            await subscribe(client, notifier, center, "customer.message")
            customers = []
            for i, (subject, description) in enumerate(OUTAGE_REPORTS):
                body = ticket_request(
                    customer={"email": f"e2e-outage-{i}@example.com", "name": f"Customer {i}"},
                    subject=subject,
                    description=description,
                    channel="web",
                )
                response = await client.post(f"{router}/v1/tickets", json=body)
                assert response.status_code == 201, response.text
                customers.append(response.json()["customer_id"])

            [alert] = await wait_until(lambda: _of_type(ops, "firstcall.problem.detected"), timeout=60)
            assert alert.signature_ok
            problem_id = alert.json["data"]["problem_id"]
            await wait_until(lambda: _customers(client, notifier, problem_id, 5), timeout=60)

            # The next customer with the same outage: their agent learns at first contact that it is known.
            subject, description = OUTAGE_REPORTS[0]
            next_call = await client.post(
                f"{router}/v1/tickets",
                json=ticket_request(
                    customer={"email": "e2e-outage-next@example.com", "name": "Next"},
                    subject=subject,
                    description=description,
                    channel="phone",
                ),
            )
            next_ticket = next_call.json()["id"]
            context = await wait_until(lambda: _context_with(client, router, next_ticket, "investigating"), timeout=60)
            assert context["knowledge"]["known_issue"]["problem_id"] == problem_id
            problem = (await wait_until(lambda: _context_problem(client, router, next_ticket), timeout=60))["problem"]
            assert problem["problem_id"] == problem_id
            assert problem["other_customers"] >= 5

            resolved = await client.post(
                f"{notifier}/v1/problems/{problem_id}/resolve",
                json={"resolution": "The payment provider renewed its certificate."},
                headers={"Idempotency-Key": "e2e-resolve"},
            )
            assert resolved.status_code == 200, resolved.text
            await wait_until(lambda: _of_type(ops, "firstcall.problem.resolved"), timeout=60)
            await wait_until(lambda: _context_with(client, router, next_ticket, "fix_available"), timeout=60)
            await wait_until(lambda: _told(mailbox, center, 6), timeout=60)
            await asyncio.sleep(2)  # anything sent twice would have arrived by now
            told = _resolutions(mailbox, center)
    assert all(count == 1 for count in told.values())
    assert len(told) == 6  # the five who reported it, and the next caller who joined the problem


async def _context_with(client: httpx.AsyncClient, router: str, ticket_id: str, status: str) -> dict[str, Any] | None:
    context: dict[str, Any] = (await client.get(f"{router}/v1/tickets/{ticket_id}/context")).json()
    known_issue = context.get("knowledge", {}).get("known_issue")
    return context if known_issue and known_issue.get("status") == status else None


async def _context_problem(client: httpx.AsyncClient, router: str, ticket_id: str) -> dict[str, Any] | None:
    context: dict[str, Any] = (await client.get(f"{router}/v1/tickets/{ticket_id}/context")).json()
    return context if context.get("problem") else None


async def _of_type(receiver: WebhookReceiver, event_type: str) -> list[Any] | None:
    found = [r for r in receiver.accepted() if r.json.get("type") == event_type]
    return found or None


async def _customers(client: httpx.AsyncClient, notifier: str, problem_id: str, count: int) -> bool:
    response = await client.get(f"{notifier}/v1/problems/{problem_id}")
    return response.status_code == 200 and response.json()["customer_count"] >= count


def _resolutions(mailbox: Mailbox, center: WebhookReceiver) -> Counter[str]:
    """Resolution messages per recipient, whichever channel carried them."""
    told: Counter[str] = Counter()
    for message in mailbox.messages:
        if message["Subject"].startswith("Resolved"):
            told[message["To"]] += 1
    for delivery in center.accepted():
        if delivery.json.get("kind") == "resolution":
            told[delivery.json["customer_id"]] += 1
    return told


async def _told(mailbox: Mailbox, center: WebhookReceiver, count: int) -> bool:
    return sum(_resolutions(mailbox, center).values()) >= count
