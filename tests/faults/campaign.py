"""One phase of the campaign: steady traffic, work that a fault could lose or double, the fault, the count.

A phase runs steady ticket traffic from start to end. Around the fault it stages what a fault could double:
three customers reporting one outage (a problem, whose fix is then published, so each is told twice: an
acknowledgement and the resolution) and two credits by an agent, each behind an Idempotency-Key. Then it
waits (with a generous timeout, never asserting a time) until every service is ready and the backlog has
drained, measures both from the moment the fault struck, and counts what each service holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg

from shared.bus.kafka import STALL_SECONDS
from tests.faults.census import Census, clusters_of, dead_lettered, problem_in, take_census
from tests.faults.fleet import Fleet
from tests.faults.infra import OwnKafka, OwnPostgres
from tests.faults.receiver import CenterWebhook
from tests.faults.results import Row
from tests.faults.traffic import OUTAGES, Accepted, Tickets, Writer

STEADY_PER_SECOND = 3.0
WARM_UP_SECONDS = 2.0
TAIL_SECONDS = 2.0  # steady traffic goes on this long after everything is ready again
OUTAGE_CUSTOMERS = 3
CREDITS = 2
READY_TIMEOUT = 180.0
# A group that lost a member moves again within two session timeouts (20 s); a member stalled inside aiokafka
# is replaced after STALL_SECONDS. Nothing moving for longer than both means it will not come by itself.
SETTLE_SECONDS = STALL_SECONDS + 20.0
DRAIN_TIMEOUT = max(120.0, SETTLE_SECONDS + 60.0)
POLL_SECONDS = 0.25
TRANSIENT = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
T = TypeVar("T")


@dataclass
class Stack:
    run: str
    kafka: OwnKafka
    postgres: OwnPostgres
    fleet: Fleet
    center: CenterWebhook
    writer: Writer
    agent_id: str
    phases: int = 0


@dataclass
class Phase:
    stack: Stack
    name: str
    tickets: Tickets
    outage_text: tuple[str, str]
    outage: list[Accepted] = field(default_factory=list)
    credited: list[str] = field(default_factory=list)
    problem_id: str | None = None
    undetected: dict[str, tuple[str, str]] = field(default_factory=dict)  # the outage's reports, if no problem
    recovered: asyncio.Event = field(default_factory=asyncio.Event)  # set once everything is ready again

    @classmethod
    def of(cls, stack: Stack, name: str) -> Phase:
        stack.phases += 1
        tickets = Tickets(stack.writer, stack.fleet.url("router"), stack.run, name)
        return cls(stack, name, tickets, OUTAGES[(stack.phases - 1) % len(OUTAGES)])

    async def open_credit_tickets(self, count: int = CREDITS) -> list[str]:
        """Tickets on the agent's channel, routed to the agent at once, ready to be credited."""
        ids = []
        for n in range(count):
            # The steady customers: new ones would make a problem of their own after a few phases.
            customer = self.tickets.steady_customer(n)
            accepted = await self.tickets.open(customer, ("Parcel late", "My parcel is a week late."), "chat")
            assert accepted.body["agent_id"] == self.stack.agent_id, f"not routed to the agent: {accepted.body}"
            ids.append(accepted.body["id"])
        return ids

    async def credit(self, ticket_id: str, *, router: str = "", writer: Writer | None = None) -> Accepted:
        body = {
            "type": "credit",
            "amount": "5.00",
            "currency": "EUR",
            "reason": "late parcel",
            "agent_id": self.stack.agent_id,
        }
        url = f"{router or self.stack.fleet.url('router')}/v1/tickets/{ticket_id}/resolutions"
        key = f"{self.stack.run}-{self.name}-credit-{ticket_id}"
        accepted = await (writer or self.stack.writer).post(url, body, key)
        assert accepted.body["outcome"] == "executed", accepted.body
        self.credited.append(ticket_id)
        return accepted

    async def stage(self, credit_tickets: list[str]) -> None:
        """The outage's reports and the credits, then the outage's fix once it is a problem."""
        self.outage = list(
            await asyncio.gather(
                *(
                    self.tickets.open(f"{self.stack.run}-{self.name}-outage-{n}", self.outage_text)
                    for n in range(OUTAGE_CUSTOMERS)
                )
            )
        )
        await asyncio.gather(*(self.credit(ticket) for ticket in credit_tickets))
        self.problem_id = await self.detected([a.body["id"] for a in self.outage])
        if self.problem_id is None:
            return  # nothing to fix: the verdict says where the outage's reports are
        await self.stack.writer.post(
            f"{self.stack.fleet.url('notifier-a')}/v1/problems/{self.problem_id}/resolve",
            {"resolution": f"Fixed: {self.outage_text[0].lower()}.", "fix_version": "7.2"},
            f"{self.stack.run}-{self.name}-fix",
        )

    async def detected(self, outage_ids: list[str]) -> str | None:
        """The outage's problem once the notifier has detected it; None (the reports' clusters kept in
        `undetected`) once nothing has moved toward it for SETTLE_SECONDS after the recovery."""
        deadline = time.monotonic() + READY_TIMEOUT + DRAIN_TIMEOUT
        last: dict[str, tuple[str, str]] | None = None
        moved = time.monotonic()
        while time.monotonic() < deadline:
            try:
                picture = await clusters_of(self.stack.postgres, outage_ids)
            except TRANSIENT:
                picture = last or {}
            if problem := problem_in(picture, outage_ids):
                return problem
            if picture != last or not self.recovered.is_set():  # a broker that is down holds everything up
                last, moved = picture, time.monotonic()
            elif time.monotonic() - moved > SETTLE_SECONDS:
                break
            await asyncio.sleep(POLL_SECONDS)
        self.undetected = last or {}
        return None

    async def census(self) -> Census:
        return await take_census(
            self.stack.postgres,
            phase=self.name,
            ticket_ids=self.tickets.ids,
            credited=self.credited,
            problem_id=self.problem_id,
        )

    async def drain(self) -> bool:
        """Wait until the backlog has drained; give up once nothing has moved for SETTLE_SECONDS (what is
        missing then will not come by itself: the verdict lists it) or after DRAIN_TIMEOUT."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        last, moved = None, time.monotonic()
        while time.monotonic() < deadline:
            try:
                census: Census | None = await self.census()
            except TRANSIENT:
                census = None
            if census is not None and self.drained(census):
                return True
            if census != last:
                last, moved = census, time.monotonic()
            elif time.monotonic() - moved > SETTLE_SECONDS:
                return False
            await asyncio.sleep(POLL_SECONDS)
        return False

    def drained(self, census: Census) -> bool:
        """Every ticket everywhere, every credit booked, every notice sent, every outbox empty.

        Only what is missing is waited for: a double (which the assertions report) never holds the wait up.
        """
        everywhere = len(self.tickets.ids)
        sent = sum(n for (_, _, status), n in census.notices.items() if status == "sent")
        return (
            len(census.tickets_per_key) >= everywhere
            and census.reports == census.suggestions == census.suggestions_at_router == everywhere
            and len(census.ledger_per_ticket) == len(self.credited)
            and census.problem is not None
            and census.problem.status == "resolved"
            and sent >= 2 * OUTAGE_CUSTOMERS
            and not any(census.outbox_pending.values())
        )


Fault = Callable[[Stack, Phase], Awaitable[str]]


async def run_phase(stack: Stack, name: str, title: str, fault: Fault) -> tuple[Row, Phase, Census]:
    """Traffic, the fault while work is in flight, recovery, drain; the phase's row and final census."""
    phase = Phase.of(stack, name)
    retries_before = stack.writer.unanswered
    dead_before = await dead_lettered(stack.kafka.bootstrap, stack.fleet.topic_prefix)
    stop = asyncio.Event()
    steady = asyncio.create_task(phase.tickets.steady(STEADY_PER_SECOND, stop))
    staged: asyncio.Task[None] | None = None
    try:
        await asyncio.sleep(WARM_UP_SECONDS)
        credit_tickets = await phase.open_credit_tickets()
        struck = time.monotonic()
        staged = asyncio.create_task(phase.stage(credit_tickets))
        hit = await fault(stack, phase)
        await until(lambda: _all_ready(stack.fleet), READY_TIMEOUT)
        ready_after = time.monotonic() - struck
        phase.recovered.set()
        await asyncio.sleep(TAIL_SECONDS)
        stop.set()
        await steady
        await staged
    finally:
        # A phase that failed must not leave its traffic running into the next one.
        for task in (steady, staged):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(steady, *([staged] if staged else []), return_exceptions=True)
    drained_after = time.monotonic() - struck if await phase.drain() else None
    census = await phase.census()
    counts = Counts(
        retries=stack.writer.unanswered - retries_before,
        dead_lettered=await dead_lettered(stack.kafka.bootstrap, stack.fleet.topic_prefix) - dead_before,
        ready_after=ready_after,
        drained_after=drained_after,
    )
    return _row(title, hit, phase, census, counts), phase, census


@dataclass(frozen=True)
class Counts:
    retries: int
    dead_lettered: int
    ready_after: float
    drained_after: float | None


def _row(fault: str, hit: str, phase: Phase, census: Census, counts: Counts) -> Row:
    problem = phase.problem_id or ""
    delivered = phase.stack.center.deliveries_per_notice(problem)
    kept = census.problem
    return Row(
        fault=fault,
        hit=hit,
        sent=len(phase.tickets.sent),
        accepted=len(phase.tickets.ids),
        in_router=census.in_router,
        most_per_key=max(census.tickets_per_key.values(), default=0),
        reports=census.reports,
        suggestions=census.suggestions,
        suggestions_at_router=census.suggestions_at_router,
        credits=len(phase.credited),
        ledger_entries=sum(census.ledger_per_ticket.values()),
        most_per_credit=max(census.ledger_per_ticket.values(), default=0),
        notices_decided=sum(census.notices.values()),
        notices_delivered=sum(delivered.values()),
        notices_received=sum(phase.stack.center.received_per_notice(problem).values()),
        most_per_notice=max(delivered.values(), default=0),
        problem_kept=f"{kept.report_count}r {kept.customer_count}c" if kept else "-",
        problem_counted=f"{kept.reports}r {kept.customers}c" if kept else "-",
        dead_lettered=counts.dead_lettered,
        client_retries=counts.retries,
        ready_after=counts.ready_after,
        drained_after=counts.drained_after,
    )


async def _all_ready(fleet: Fleet) -> bool:
    statuses = await asyncio.to_thread(fleet.readiness)
    return all(status == "ok" for status in statuses.values())


async def until(probe: Callable[[], Awaitable[T | None]], timeout: float) -> T:
    """Poll `probe` until it gives something truthy; a probe that fails (a database restarting) counts as no."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = await probe()
        except TRANSIENT as exc:
            result, last = None, exc
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout}s (last error: {last!r})")
        await asyncio.sleep(POLL_SECONDS)
