"""context: `GET /v1/tickets/{id}/context` on the router (its own process, PostgreSQL + Kafka).

The context is the agent's one round trip (customer, history, orders with refundable amounts, ledger,
knowledge, problem, allowed actions). Its baseline is the cheapest read the same router answers, a single
ticket (`GET /v1/tickets/{id}`), measured in the same run by the same load generator.
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.load import LoadProcess, LoadResult, Phase, PhaseJob, Request, run_phase
from bench.procs import AUTH, real_stack, wait_idle
from bench.report import Section, ms, rate

NAME = "context"
HEADERS = [
    "read",
    "load",
    "offered/s",
    "achieved/s",
    "errors",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "server CPU ms/req",
]
CUSTOMERS = 60


def seed(url: str, tag: str) -> tuple[list[str], str]:
    """Agents, customers with orders and history, and their tickets; returns the ticket ids and an agent key."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        agent = client.post(
            "/v1/agents",
            json={
                "display_name": "Bench agent",
                "skills": {"cards": 3},
                "capacity": {"chat": 1000},
                "authority": {"credit": {"EUR": "50.00"}, "refund": {"EUR": "200.00"}, "return": {"EUR": "500.00"}},
                "status": "available",
            },
        ).json()
        key = client.post(
            "/v1/api-keys",
            json={"name": "bench", "scopes": ["agent"], "agent_id": agent["id"], "rate_limit_per_minute": 1_000_000},
        ).json()["key"]
        tickets = []
        for n in range(CUSTOMERS):
            customer = {"email": f"ctx-{tag}-{n}@example.com", "phone": f"+4420794{n:05d}"}
            for m in range(2):
                client.post(
                    "/v1/orders",
                    json={
                        "customer": customer,
                        "source": "bench",
                        "external_ref": f"{tag}-{n}-{m}",
                        "currency": "EUR",
                        "lines": [{"sku": "A", "description": "Thing", "quantity": 2, "unit_price": "30.00"}],
                        "ordered_at": (datetime.now(UTC) - timedelta(days=m + 1)).isoformat(),
                    },
                )
            earlier = client.post("/v1/tickets", json=_ticket(customer, "Earlier question")).json()
            client.post(f"/v1/tickets/{earlier['id']}/notes", json={"body": "answered", "agent_id": agent["id"]})
            tickets.append(client.post("/v1/tickets", json=_ticket(customer, "Card declined")).json()["id"])
    return tickets, key


def _ticket(customer: dict[str, str], subject: str) -> dict[str, object]:
    return {"customer": customer, "channel": "chat", "subject": subject, "description": "my card was declined"}


def context_request(n: int, *, tickets: tuple[str, ...], key: str, suffix: str) -> Request:
    """The n-th read, cycling through the seeded tickets (module level: the load process unpickles it)."""
    return Request("GET", f"/v1/tickets/{tickets[n % len(tickets)]}{suffix}", {"authorization": f"Bearer {key}"})


def make_requests(tickets: list[str], key: str, suffix: str) -> Callable[[int], Request]:
    return functools.partial(context_request, tickets=tuple(tickets), key=key, suffix=suffix)


def _server_ms(result: LoadResult) -> float:
    """Server CPU per request, when at most 5% of the requests failed (else the figure means little)."""
    return result.server_ms_per_request if result.error_count <= 0.05 * result.sent else math.nan


def _row(read: str, result: LoadResult) -> list[str]:
    phase = result.phase
    return [
        read,
        phase.label,
        "max" if phase.mode == "closed" else rate(phase.rate),
        rate(result.throughput),
        str(result.error_count),
        ms(result.percentile(50)),
        ms(result.percentile(90)),
        ms(result.percentile(99)),
        ms(result.percentile(100)),
        "n/a" if math.isnan(_server_ms(result)) else f"{_server_ms(result):.2f}",
    ]


def run(*, quick: bool, workdir: Path, load: LoadProcess) -> Section:
    duration, warmup = (2.0, 0.5) if quick else (10.0, 1.0)
    plan = [
        Phase.open(rate=50, duration=duration, warmup=warmup),
        Phase.open(rate=100, duration=duration, warmup=warmup),
        Phase.open(rate=200, duration=duration, warmup=warmup),
        Phase.closed(concurrency=8, duration=duration, warmup=warmup),
    ]
    rows: list[list[str]] = []
    notes: list[str] = []
    ratios: list[str] = []
    with real_stack(workdir, ["router", "knowledge"]) as stack:
        url = stack.url("router")
        tickets, key = seed(url, uuid.uuid4().hex[:6])
        time.sleep(2)  # knowledge's suggestions for the new tickets arrive as events and are kept
        reads = (("baseline: GET /v1/tickets/{id}", ""), ("GET /v1/tickets/{id}/context", "/context"))
        for phase in plan:
            cpu: list[float] = []
            for label, suffix in reads:
                wait_idle(stack.pids)
                result = load.run(run_phase, PhaseJob(url, phase, make_requests(tickets, key, suffix), stack.pids))
                rows.append(_row(label, result))
                cpu.append(_server_ms(result))
                if result.errors:
                    notes.append(f"{label}, {phase.label}: {result.error_count} errors of {result.sent}")
            ratios.append(
                f"{phase.label} {cpu[1] / cpu[0]:.1f}x" if all(map(math.isfinite, cpu)) else f"{phase.label} n/a"
            )
    notes[:0] = [
        f"{len(tickets)} tickets of {CUSTOMERS} customers, each with 2 orders and an earlier ticket with a note; "
        "an agent-scoped key (allowed actions are computed for that agent); knowledge runs beside the router, so "
        "suggestions come from its events",
        "open loop: latency from the scheduled send time; targets: context p99 under 50 ms at 200/s, server CPU "
        f"per context read within 3x a ticket read (here: {', '.join(ratios)})",
        "router and knowledge: `python -m services.cli serve ...` on fresh PostgreSQL databases, a private topic prefix",
    ]
    return Section(
        name=NAME,
        title="the agent's context in one round trip, vs a single-ticket read",
        about=__doc__ or "",
        headers=HEADERS,
        rows=rows,
        notes=notes,
    )
