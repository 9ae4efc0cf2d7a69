"""burst: a crisis on top of steady traffic, on the real stack (issue 23, aim 2).

Steady everyday tickets (BANKING77's texts, each from a customer of its own) and, on top of them, a burst:
a fifth of its tickets are one outage said in varied words. The router, knowledge and one or more notifier
replicas run as `firstcall serve` processes on PostgreSQL (fresh databases) and Kafka (a private topic
prefix); a webhook receiver stands in for the contact center that passes customer messages on.

Measured per phase: when the problem is visible in the notifier after its third report, when every one of
its tickets carries it in the router's context, when the last customer has been told of its resolution
(resolved through the API once the backlog drained), how long the backlog (consumer lag, outboxes) takes
to drain and how high it went, and whether anything was lost or doubled. The baseline is the same
measurement, in the same run, of a phase without the burst: steady traffic only, the outage the same share
of it.

    python -m bench.burst                           # 10/s steady, +200/s for 30 s; one notifier
    python -m bench.burst --burst-rate 60 --duration 10 --notifiers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import os
import shlex
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.burst_measure import (
    APP_CRASH,
    BLANK_STATEMENT,
    SETTLED_SECONDS,
    Drain,
    LagSample,
    OutageWords,
    PhaseFigures,
    PhasePlan,
    Planned,
    drained,
    merge_lag,
    parse_lag,
    rows,
)
from bench.load import LoadProcess, make_client, process_cpu_seconds
from bench.procs import AUTH, Processes, first_error, free_port, stack_env
from bench.report import Section, machine_facts
from bench.ticket_open import customer_texts
from tests.stack import DATABASE_TEMPLATE, create_database, delete_topics, drop_database, unreachable_parts

NAME = "burst"
SERVICES = ("router", "knowledge", "notifier")
SAMPLE_EVERY = 0.5  # seconds between two readings of the backlog
RECEIVER_SECRET = "firstcall-bench-burst-receiver"  # a throwaway local receiver's, no secret
CONTEXT_MISSES = 5  # context reads per round that may find no problem before the round ends
CONTEXT_ROUND = 0.5  # seconds between two rounds of context reads
SETTLED_REPORT = 30.0
MAX_IN_FLIGHT = 5000  # tickets sent and not answered yet; beyond it a ticket is dropped, not sent  # a report this old whose ticket has no problem in the context will not get one


@dataclass(frozen=True)
class Options:
    steady_rate: float = 10.0
    burst_rate: float = 200.0
    duration: float = 30.0
    lead: float = 5.0  # steady traffic alone before the window
    baseline_burst: float = 0.0  # the baseline's burst (0: steady only)
    outage_share: float = 0.2
    notifiers: int = 1
    connections: int = 256
    drain_timeout: float = 1800.0
    notice_timeout: float = 300.0
    context_reads: int = 25  # context reads per round at most

    @classmethod
    def quick(cls) -> Options:
        return cls(burst_rate=60.0, duration=10.0, lead=3.0)

    def plans(self) -> tuple[PhasePlan, PhasePlan]:
        return (
            PhasePlan("baseline", self.steady_rate, self.baseline_burst, self.lead, self.duration, self.outage_share),
            PhasePlan("crisis", self.steady_rate, self.burst_rate, self.lead, self.duration, self.outage_share),
        )


# ------------------------------------------------------------------------------------------------ the services


@dataclass
class Stack:
    procs: Processes
    databases: dict[str, str]
    notifiers: tuple[str, ...]  # process names of the notifier replicas

    def pids(self, service: str) -> tuple[int, ...]:
        names = self.notifiers if service == "notifier" else (service,)
        return tuple(self.procs.processes[name].pid for name in names)


@contextlib.contextmanager
def burst_stack(workdir: Path, notifiers: int) -> Iterator[Stack]:
    """Like bench.procs.real_stack, with `notifiers` notifier replicas and plain-http webhooks allowed (the
    receiver listens on loopback). Its databases and topics are its own and removed afterwards."""
    run = uuid.uuid4().hex[:8]
    databases = {service: f"fc_bench_{run}_{service}" for service in SERVICES}
    topic_prefix = f"bench{run}."
    procs = Processes(Path(tempfile.mkdtemp(prefix="burst-", dir=workdir)))
    names = ("notifier", *(f"notifier-{n}" for n in range(2, notifiers + 1)))
    for name in ("router", "knowledge", *names):
        procs.ports[name] = free_port()
    env = {**stack_env(run, router_url=procs.url("router")), "FIRSTCALL_NOTIFIER_WEBHOOK_ALLOW_HTTP": "true"}
    created: list[str] = []
    try:
        for name in databases.values():
            asyncio.run(create_database(name))
            created.append(name)
        for name in ("router", "knowledge", *names):
            service = name.split("-")[0]
            procs.start(
                name,
                ["-m", "services.cli", "serve", service],
                {**env, f"FIRSTCALL_{service.upper()}_PORT": str(procs.ports[name])},
            )
            procs.wait_ready(name, [f"{procs.url(name)}/readyz"])
        yield Stack(procs, databases, names)
    finally:
        procs.stop_all()
        for name in created:
            asyncio.run(drop_database(name))
        asyncio.run(delete_topics(topic_prefix))


# ------------------------------------------------------------------------------------------------ the job


@dataclass(frozen=True)
class BurstJob:
    """Everything the load process needs: it sends, watches, resolves and counts."""

    urls: dict[str, str]  # process name -> base URL
    notifiers: tuple[str, ...]
    pids: dict[str, tuple[int, ...]]  # service -> process ids
    databases: dict[str, str]
    plans: tuple[PhasePlan, ...]
    run: str
    options: Options


@dataclass(frozen=True)
class BurstResult:
    figures: list[PhaseFigures]
    notes: list[str]


@dataclass(frozen=True)
class Arrival:
    at: float
    delivery: str
    kind: str
    problem_id: str
    customer_id: str


@dataclass
class Receiver:
    """The contact center's end of `customer.message`: notes when each delivery arrived, answers 204."""

    port: int = 0
    arrivals: list[Arrival] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def hook(self, request: Request) -> Response:
        at = time.time()
        body = orjson.loads(await request.body())
        data = body.get("data", body) if isinstance(body, dict) else {}
        self.arrivals.append(
            Arrival(
                at,
                request.headers.get("x-firstcall-delivery", ""),
                str(data.get("kind", "")),
                str(data.get("problem_id", "")),
                str(data.get("customer_id", "")),
            )
        )
        return Response(status_code=204)

    def resolutions(self, problem_id: str) -> dict[str, list[Arrival]]:
        """Resolution notices of a problem, by customer."""
        found: dict[str, list[Arrival]] = {}
        for arrival in self.arrivals:
            if arrival.kind == "resolution" and arrival.problem_id == problem_id:
                found.setdefault(arrival.customer_id, []).append(arrival)
        return found


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Sampler:
    """Reads every process's consumer lag (/metrics) and every service's outbox (/readyz) in a loop."""

    urls: dict[str, str]
    samples: list[LagSample] = field(default_factory=list)
    failures: int = 0

    async def _read(self, client: httpx.AsyncClient, name: str) -> tuple[str, dict[Any, float] | None, int | None]:
        try:
            metrics, ready = await asyncio.gather(
                client.get(f"{self.urls[name]}/metrics"), client.get(f"{self.urls[name]}/readyz")
            )
            pending = ready.json().get("checks", {}).get("outbox_pending")
            return name, parse_lag(metrics.text), None if pending is None else int(pending)
        except (httpx.HTTPError, ValueError):
            self.failures += 1
            return name, None, None

    async def loop(self, client: httpx.AsyncClient) -> None:
        while True:
            started = time.perf_counter()
            read = await asyncio.gather(*(self._read(client, name) for name in self.urls))
            outbox: dict[str, int] = {}
            for name, _, pending in read:
                if pending is not None:  # replicas share a database: one outbox per service
                    service = name.split("-")[0]
                    outbox[service] = max(outbox.get(service, 0), pending)
            lags = [lag for _, lag, _ in read if lag is not None]
            self.samples.append(LagSample(time.time(), merge_lag(lags), outbox))
            await asyncio.sleep(max(SAMPLE_EVERY - (time.perf_counter() - started), 0.05))


@dataclass
class Sent:
    planned: Planned
    key: str
    outage: bool
    ticket_id: str | None = None
    answered_at: float | None = None  # wall clock, the 201
    latency_ms: float | None = None
    error: str | None = None


async def _call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A watcher's or the scenario's own request, tried again after a transport error (a service closes an
    idle keep-alive connection now and then); every write of ours carries an Idempotency-Key or is a read."""
    for attempt in range(5):
        try:
            return await client.request(method, path, **kwargs)
        except httpx.HTTPError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def ticket_body(planned: Planned, key: str, run: str, phase: str, outage: OutageWords) -> dict[str, Any]:
    if planned.outage:
        subject, description = outage.text(planned.n)
    else:
        texts = customer_texts()
        text = texts[(planned.n + (len(texts) // 2 if planned.stream == "burst" else 0)) % len(texts)]
        subject, description = text[:80], text
    return {
        "customer": {"external_id": f"crm:{key}", "name": f"Customer {planned.stream} {planned.n}"},
        "channel": "web",
        "subject": subject,
        "description": description,
        "priority": "normal",
        "attributes": {"bench_run": run, "bench_phase": phase, "bench_key": key},
    }


@dataclass
class PhaseRun:
    """One phase in progress, shared by the sender and the watchers."""

    plan: PhasePlan
    job: BurstJob
    outage_words: OutageWords
    sent: list[Sent] = field(default_factory=list)
    outage_accepted: list[Sent] = field(default_factory=list)  # in the order their 201s arrived
    sending_done: asyncio.Event = field(default_factory=asyncio.Event)
    stop_watching: asyncio.Event = field(default_factory=asyncio.Event)
    carried: dict[str, tuple[float, str]] = field(default_factory=dict)  # ticket -> (when seen, problem id)
    settled_without: set[str] = field(default_factory=set)
    detected: tuple[str, float] | None = None  # (problem id, when first visible)
    last_send: float = 0.0
    window_start: float = 0.0
    dropped: int = 0
    watch_failures: list[str] = field(default_factory=list)

    async def send(self, client: httpx.AsyncClient) -> None:
        gate = asyncio.Semaphore(self.job.options.connections)
        in_flight: set[asyncio.Task[None]] = set()
        start_wall, start = time.time(), time.perf_counter()
        self.window_start = start_wall + self.plan.lead
        for planned in self.plan.schedule():
            delay = start + planned.at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            key = f"burst-{self.job.run}-{self.plan.name}-{planned.stream}-{planned.n}"
            sent = Sent(planned, key, planned.outage)
            self.sent.append(sent)
            if len(in_flight) >= MAX_IN_FLIGHT:
                sent.error, self.dropped = "dropped", self.dropped + 1
                continue
            task = asyncio.create_task(self._post(client, gate, sent, start + planned.at))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        self.last_send = time.time()
        await asyncio.gather(*in_flight)
        self.sending_done.set()

    async def _post(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, sent: Sent, scheduled: float) -> None:
        body = ticket_body(sent.planned, sent.key, self.job.run, self.plan.name, self.outage_words)
        async with gate:
            try:
                response = await client.post(
                    "/v1/tickets",
                    content=orjson.dumps(body),
                    headers={"idempotency-key": sent.key, "content-type": "application/json"},
                )
            except httpx.HTTPError as exc:
                sent.error = type(exc).__name__
                return
        sent.latency_ms = (time.perf_counter() - scheduled) * 1000
        if response.status_code != 201:
            sent.error = f"HTTP {response.status_code}"
            return
        sent.ticket_id, sent.answered_at = response.json()["id"], time.time()
        if sent.outage:
            self.outage_accepted.append(sent)

    async def watch_detection(self, notifier: httpx.AsyncClient) -> None:
        """The problem visible through the notifier's API: an open problem with an outage ticket among its
        members. One list read per poll (a detail read per problem not seen before), so a notifier that
        falls behind is not also buried in polls."""
        seen: set[str] = set()
        while not self.stop_watching.is_set():
            await asyncio.sleep(0.1)
            outage = {s.ticket_id for s in self.outage_accepted}
            if len(outage) < 3:
                continue
            listed = await _call(notifier, "GET", "/v1/problems", params={"status": "open", "limit": 50})
            if listed.status_code != 200:
                continue
            for item in listed.json()["items"]:
                if item["id"] in seen:
                    continue
                detail = await _call(notifier, "GET", f"/v1/problems/{item['id']}")
                if detail.status_code != 200:
                    continue
                seen.add(item["id"])
                if any(m["ticket_id"] in outage for m in detail.json()["members"]):
                    self.detected = (item["id"], time.time())
                    return

    async def watch_context(self, router: httpx.AsyncClient, notifier: httpx.AsyncClient) -> None:
        """Reads the outage tickets' context, oldest first, until each carries a problem. The notifier takes
        reports roughly in their order, so a round ends after a few misses instead of reading them all;
        a ticket whose report has long been in the notifier without a problem is set aside."""
        done: set[str] = set()
        while not self.stop_watching.is_set():
            pending = [s.ticket_id for s in self.outage_accepted if s.ticket_id not in done]
            if not pending and self.sending_done.is_set():
                return
            misses = reads = 0
            for ticket_id in pending:
                if misses >= CONTEXT_MISSES or reads >= self.job.options.context_reads:
                    break
                assert ticket_id is not None
                reads += 1
                response = await _call(router, "GET", f"/v1/tickets/{ticket_id}/context")
                problem = response.json().get("problem") if response.status_code == 200 else None
                if problem:
                    self.carried[ticket_id] = (time.time(), str(problem["problem_id"]))
                    done.add(ticket_id)
                    continue
                misses += 1
                report = await _call(notifier, "GET", f"/v1/reports/{ticket_id}")
                if report.status_code == 200:
                    received = _timestamp(report.json()["received_at"])
                    if time.time() - received > SETTLED_REPORT:
                        self.settled_without.add(ticket_id)
                        done.add(ticket_id)
            await asyncio.sleep(CONTEXT_ROUND)


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def _idle(pids: Sequence[int], below: float = 0.1, timeout: float = 120) -> None:
    """Until the services rest (work left from the previous phase must not run into this one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(process_cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(1.0)
        if sum(process_cpu_seconds(pid) for pid in pids) - before < below:
            return


@dataclass(frozen=True)
class Counts:
    router_tickets: int  # tickets of the phase in the router's database
    doubled_tickets: int  # idempotency keys that made more than one
    reports: int
    suggestions: int
    handled_per_second: dict[str, float]  # by service: its rows over the time from its first to its last


async def _counts(job: BurstJob, phase: str, accepted: list[str]) -> Counts:
    """What the databases hold of the phase's tickets."""
    url = make_url(DATABASE_TEMPLATE.replace("{service}", "x"))

    async def connect(service: str) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database=job.databases[service]
        )

    ids = [uuid.UUID(t) for t in accepted]
    router = await connect("router")
    try:
        keys = await router.fetch(
            "SELECT attributes->>'bench_key' AS key, count(*) AS n FROM tickets "
            "WHERE attributes->>'bench_run' = $1 AND attributes->>'bench_phase' = $2 GROUP BY 1",
            job.run,
            phase,
        )
    finally:
        await router.close()
    counted: dict[str, int] = {}
    rates: dict[str, float] = {}
    for service, table in (("notifier", "reports"), ("knowledge", "ticket_suggestions")):
        connection = await connect(service)
        try:
            row = await connection.fetchrow(
                f"SELECT count(*) AS n, min(received_at) AS first, max(received_at) AS last FROM {table} "
                "WHERE ticket_id = ANY($1::uuid[])",
                ids,
            )
        finally:
            await connection.close()
        counted[service] = int(row["n"])
        if row["n"] > 1 and row["last"] > row["first"]:
            rates[service] = (row["n"] - 1) / (row["last"] - row["first"]).total_seconds()
    return Counts(
        sum(r["n"] for r in keys), sum(1 for r in keys if r["n"] > 1), counted["notifier"], counted["knowledge"], rates
    )


@dataclass(frozen=True)
class Clients:
    router: httpx.AsyncClient  # the tickets
    context: httpx.AsyncClient  # the context watcher's reads, on a few connections of their own
    notifier: httpx.AsyncClient


@dataclass(frozen=True)
class Outcome:
    """Where the outage's tickets ended up: the problem most of them carry, and who carries it when."""

    problem_id: str | None
    in_problem: set[str]
    carrying: list[float]  # when each ticket of the problem was first seen carrying it
    customers: int  # the problem's customers, before it was resolved


async def _outcome(phase: PhaseRun, clients: Clients, notes: list[str]) -> Outcome:
    counts = Counter(problem for _, problem in phase.carried.values())
    main = counts.most_common(1)[0][0] if counts else (phase.detected[0] if phase.detected else None)
    if main is None:
        return Outcome(None, set(), [], 0)
    detail = (await _call(clients.notifier, "GET", f"/v1/problems/{main}")).json()
    members = {m["ticket_id"] for m in detail["members"]}
    if len(counts) > 1:
        notes.append(
            f"{phase.plan.name}: the outage's tickets carry {len(counts)} problems: {dict(counts.most_common(5))}"
        )
    in_problem = {s.ticket_id for s in phase.outage_accepted if s.ticket_id is not None and s.ticket_id in members}
    # Those the watcher set aside or did not reach: read once more (their time, if they carry it now, is now).
    for ticket_id in sorted(in_problem - set(phase.carried)):
        response = await _call(clients.context, "GET", f"/v1/tickets/{ticket_id}/context")
        problem = response.json().get("problem") if response.status_code == 200 else None
        if problem:
            phase.carried[ticket_id] = (time.time(), str(problem["problem_id"]))
    carrying = [phase.carried[t][0] for t in in_problem if t in phase.carried and phase.carried[t][1] == main]
    return Outcome(main, in_problem, carrying, int(detail["customer_count"]))


async def _resolve(
    phase: PhaseRun, *, problem_id: str, customers: int, clients: Clients, receiver: Receiver, notes: list[str]
) -> tuple[float | None, dict[str, list[Arrival]]]:
    """Resolve the problem through the API; (seconds until the last customer's notice, notices by customer)."""
    resolved = await _call(
        clients.notifier,
        "POST",
        f"/v1/problems/{problem_id}/resolve",
        json={"resolution": "The faulty release was rolled back; the fix is out."},
        headers={"idempotency-key": f"burst-{phase.job.run}-{phase.plan.name}-resolve"},
    )
    resolved_at = time.time()
    if resolved.status_code != 200:
        notes.append(f"{phase.plan.name}: resolving answered {resolved.status_code} {resolved.text[:200]}")
        return None, {}
    deadline = resolved_at + phase.job.options.notice_timeout
    while len(receiver.resolutions(problem_id)) < customers and time.time() < deadline:  # noqa: ASYNC110 - a count, not an event
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)  # a notice sent twice would have arrived by now
    told = receiver.resolutions(problem_id)
    if not told or len(told) < customers:
        return None, told
    return max(min(a.at for a in arrivals) for arrivals in told.values()) - resolved_at, told


async def _measure(phase: PhaseRun, sampler: Sampler, clients: Clients) -> tuple[Drain, dict[str, float]]:
    """Send the phase's tickets while the watchers run; wait for the backlog to drain. (The drain, the
    services' CPU seconds from the start until drained.)"""
    pids = phase.job.pids
    cpu_before = {s: sum(process_cpu_seconds(p) for p in ps) for s, ps in pids.items()}
    sender = asyncio.create_task(phase.send(clients.router))
    detection = asyncio.create_task(phase.watch_detection(clients.notifier))
    context = asyncio.create_task(phase.watch_context(clients.context, clients.notifier))
    await sender
    measure = functools.partial(drained, since=phase.last_send, peak_from=phase.window_start - phase.plan.lead)
    drain = measure(sampler.samples)
    while drain.drained_after is None and time.time() - phase.last_send < phase.job.options.drain_timeout:
        await asyncio.sleep(1.0)
        drain = measure(sampler.samples)
    cpu = {s: sum(process_cpu_seconds(p) for p in ps) - cpu_before[s] for s, ps in pids.items()}
    # The context watcher gets a little longer: the router applies the problem's last changes after the drain.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(context), 60)
    phase.stop_watching.set()
    for failed in await asyncio.gather(detection, context, return_exceptions=True):
        if isinstance(failed, BaseException):  # what it saw so far still counts
            phase.watch_failures.append(f"{type(failed).__name__}: {failed}")
    return drain, cpu


async def _phase(
    phase: PhaseRun, sampler: Sampler, receiver: Receiver, clients: Clients
) -> tuple[PhaseFigures, list[str]]:
    plan, notes = phase.plan, list[str]()
    drain, cpu = await _measure(phase, sampler, clients)
    outcome = await _outcome(phase, clients, notes)
    last_outage = max((s.answered_at or 0.0) for s in phase.outage_accepted) if phase.outage_accepted else 0.0
    complete = outcome.carrying and len(outcome.carrying) == len(outcome.in_problem)
    third = sorted(s.answered_at or 0.0 for s in phase.outage_accepted)[2:3]
    notices_after: float | None = None
    told: dict[str, list[Arrival]] = {}
    if outcome.problem_id is not None:
        notices_after, told = await _resolve(
            phase,
            problem_id=outcome.problem_id,
            customers=outcome.customers,
            clients=clients,
            receiver=receiver,
            notes=notes,
        )

    accepted = [s.ticket_id for s in phase.sent if s.ticket_id is not None]
    counts = await _counts(phase.job, plan.name, accepted)
    handled = {"router": len(accepted), "notifier": counts.reports, "knowledge": counts.suggestions}
    window = [s for s in phase.sent if s.ticket_id is not None and s.planned.at >= plan.lead]
    window_end = max((s.answered_at or 0.0 for s in window), default=phase.window_start)
    notes.extend(f"{plan.name}: a watcher stopped early: {failure}" for failure in phase.watch_failures)
    errors = Counter(s.error for s in phase.sent if s.error)
    if errors:
        notes.append(
            f"{plan.name}: POST errors {dict(errors)} (HTTP 503: shed by the router's admission control, with "
            f"Retry-After, not retried here; dropped: {MAX_IN_FLIGHT:,} tickets already waiting for an answer or "
            f"for one of the {phase.job.options.connections} connections)"
        )
    notes.append(
        f"{plan.name}: the peak lag ({drain.peak_lag:,} records) came "
        + (
            f"{abs(drain.peak_at):.1f} s {'after' if drain.peak_at >= 0 else 'before'} the last ticket was sent"
            if drain.peak_at is not None
            else "never"
        )
        + f"; {len(phase.settled_without)} outage tickets set aside by the context watcher (in the notifier "
        f"{SETTLED_REPORT:g} s without a problem in their context)"
    )
    figures = PhaseFigures(
        label=plan.label,
        sent=len(phase.sent),
        accepted=len(accepted),
        post_ms=sorted(s.latency_ms for s in phase.sent if s.ticket_id is not None and s.latency_ms is not None),
        window_rate=len(window) / max(plan.duration, window_end - phase.window_start),
        outage_accepted=len(phase.outage_accepted),
        detected_after=phase.detected[1] - third[0] if phase.detected and third else None,
        outage_in_problem=len(outcome.in_problem),
        context_after=max(outcome.carrying) - last_outage if complete else None,
        context_carrying=len(outcome.carrying),
        notices_after=notices_after,
        notices_received=len(told),
        notices_expected=outcome.customers,
        drain=drain,
        router_tickets=counts.router_tickets,
        reports=counts.reports,
        suggestions=counts.suggestions,
        doubled_tickets=counts.doubled_tickets,
        handled_per_second=counts.handled_per_second,
        doubled_notices=sum(1 for arrivals in told.values() if len({a.delivery for a in arrivals}) > 1),
        # Over the tickets each service handled: one that fell behind has not handled them all.
        cpu_ms_per_ticket={s: seconds / max(handled.get(s, len(accepted)), 1) * 1000 for s, seconds in cpu.items()},
    )
    return figures, notes


async def _prime(job: BurstJob, clients: Clients, sampler: Sampler) -> str:
    """One ticket all the way through before measuring: the consumers may still be joining their groups."""
    started = time.time()
    planned = Planned(0.0, "prime", 0, outage=False)
    key = f"burst-{job.run}-prime"
    body = ticket_body(planned, key, job.run, "prime", APP_CRASH)
    response = await _call(clients.router, "POST", "/v1/tickets", json=body, headers={"idempotency-key": key})
    response.raise_for_status()
    ticket_id = response.json()["id"]
    while (await _call(clients.notifier, "GET", f"/v1/reports/{ticket_id}")).status_code != 200:
        if time.time() - started > 300:
            raise RuntimeError(f"the first ticket ({ticket_id}) did not reach the notifier in 300 s")
        await asyncio.sleep(0.5)
    reached = time.time() - started
    since = time.time()
    while drained(sampler.samples, since).drained_after is None and time.time() - since < 120:  # noqa: ASYNC110 - samples, not an event
        await asyncio.sleep(0.5)
    return f"before measuring: one ticket reached the notifier {reached:.1f} s after its POST (consumers joining)"


async def run_burst(job: BurstJob) -> BurstResult:
    figures: list[PhaseFigures] = []
    notes: list[str] = []
    everyone = tuple(pid for pids in job.pids.values() for pid in pids)
    async with (
        receiving() as receiver,
        make_client(job.urls["router"], connections=job.options.connections, timeout=60, headers=AUTH) as router,
        make_client(job.urls["router"], connections=4, timeout=30, headers=AUTH) as context,
        make_client(job.urls["notifier"], connections=8, timeout=30, headers=AUTH) as notifier,
        make_client("http://127.0.0.1", connections=16, timeout=10, headers=AUTH) as scrape,
    ):
        subscribed = await notifier.post(
            "/v1/subscriptions",
            json={"url": receiver.url, "event_types": ["customer.message"], "secret": RECEIVER_SECRET},
        )
        subscribed.raise_for_status()
        sampler = Sampler(job.urls)
        sampling = asyncio.create_task(sampler.loop(scrape))
        clients = Clients(router, context, notifier)
        try:
            notes.append(await _prime(job, clients, sampler))
            for plan, words in zip(job.plans, (BLANK_STATEMENT, APP_CRASH), strict=True):
                await _idle(everyone)
                phase_figures, phase_notes = await _phase(PhaseRun(plan, job, words), sampler, receiver, clients)
                figures.append(phase_figures)
                notes.extend(phase_notes)
        finally:
            sampling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampling
        peaks: dict[str, int] = {}
        for sample in sampler.samples:
            for group, lag in sample.groups.items():
                peaks[group] = max(peaks.get(group, 0), lag)
        notes.append("peak lag by consumer group: " + ", ".join(f"{g} {v:,}" for g, v in sorted(peaks.items())))
        if sampler.failures:
            notes.append(f"{sampler.failures} readings of /metrics or /readyz failed (the backlog read from the rest)")
    return BurstResult(figures, notes)


# ------------------------------------------------------------------------------------------------ the section


def run(*, quick: bool, workdir: Path, load: LoadProcess, options: Options | None = None) -> Section:
    options = options or (Options.quick() if quick else Options())
    with burst_stack(workdir, options.notifiers) as stack:
        urls = {name: stack.procs.url(name) for name in stack.procs.processes}
        job = BurstJob(
            urls=urls,
            notifiers=stack.notifiers,
            pids={service: stack.pids(service) for service in SERVICES},
            databases=stack.databases,
            plans=options.plans(),
            run=uuid.uuid4().hex[:8],
            options=options,
        )
        result = load.run(run_burst, job)
        stack.procs.stop_all()
        logged = [
            f"{name}: {error}"
            for name in stack.procs.logs
            if (error := first_error(stack.procs.log_text(name))) is not None
        ]
    headers, table = rows(result.figures)
    notes = [
        f"steady {options.steady_rate:g} tickets/s (BANKING77's test texts, a new customer each) for "
        f"{options.lead:g} s, then {options.duration:g} s more with the burst on top; "
        f"{options.outage_share:.0%} of the burst (of the window's steady tickets in the baseline) are one outage "
        "in varied words (its own per phase); open loop, each ticket from its scheduled time",
        f"services: `python -m services.cli serve` router, knowledge and {options.notifiers} notifier process(es) on "
        "fresh PostgreSQL databases and a private Kafka topic prefix; a local webhook receiver subscribed to "
        "`customer.message` (customers without email are told through it)",
        "detected: the first outage reports' cluster answers `GET /v1/problems/{id}` with status open (polled every "
        "0.1 s); context: the outage tickets' `GET /v1/tickets/{id}/context` read oldest first, a round every "
        f"{CONTEXT_ROUND:g} s ending after {CONTEXT_MISSES} misses; drained: every consumer group's "
        "`firstcall_consumer_lag_records` (all processes' /metrics) and every outbox (/readyz) at 0 for "
        f"{SETTLED_SECONDS:g} s, read every {SAMPLE_EVERY:g} s; the problem is resolved once drained",
        "CPU ms per ticket: each service's CPU from the phase's start until drained (or the drain timeout), over "
        "the tickets it handled (the router: accepted; knowledge: suggestions; the notifier: reports, counted "
        "a little later); the watchers' reads included",
        *result.notes,
        *(f"logged errors; the first in {error}" for error in logged),
    ]
    return Section(
        name=NAME,
        title="a crisis burst on top of steady traffic, against the steady traffic alone",
        about=(
            "When a burst of tickets hits with an outage in it: how soon the problem is found, reaches every "
            "agent's context and its customers are told of the fix, how long the backlog takes to drain, and "
            "whether anything was lost or doubled. Same stack, same load generator, baseline measured first."
        ),
        headers=headers,
        rows=table,
        notes=notes,
    )


def _bounded(kind: type[float] | type[int], low: float, high: float) -> Any:
    """An argparse type that refuses values outside [low, high], naming the bounds."""

    def read(text: str) -> float | int:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not within {low:g}..{high:g}")
        return value

    return read


def main(argv: list[str] | None = None) -> int:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench.burst", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    rate, seconds = _bounded(float, 0.1, 2000), _bounded(float, 1, 600)
    parser.add_argument("--steady-rate", type=rate, default=defaults.steady_rate, help="steady tickets/s (10)")
    parser.add_argument("--burst-rate", type=rate, default=defaults.burst_rate, help="burst tickets/s on top (200)")
    parser.add_argument("--duration", type=seconds, default=defaults.duration, help="seconds the burst lasts (30)")
    parser.add_argument("--lead", type=seconds, default=defaults.lead, help="steady seconds before the burst (5)")
    parser.add_argument(
        "--baseline-burst",
        type=_bounded(float, 0, 2000),
        default=defaults.baseline_burst,
        help="the baseline's burst tickets/s (0: steady traffic only)",
    )
    parser.add_argument(
        "--outage-share", type=_bounded(float, 0.01, 1), default=defaults.outage_share, help="outage share (0.2)"
    )
    parser.add_argument(
        "--notifiers", type=_bounded(int, 1, 8), default=defaults.notifiers, help="notifier processes (1)"
    )
    parser.add_argument(
        "--drain-timeout",
        type=_bounded(float, 10, 7200),
        default=defaults.drain_timeout,
        help="seconds to wait for the backlog to drain (1800)",
    )
    parser.add_argument("--quick", action="store_true", help="60/s for 10 s: a smoke run, not a measurement")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this directory (default: discarded)")
    args = parser.parse_args(argv)
    options = Options(
        steady_rate=args.steady_rate,
        burst_rate=args.burst_rate,
        duration=args.duration,
        lead=args.lead,
        baseline_burst=args.baseline_burst,
        outage_share=args.outage_share,
        notifiers=args.notifiers,
        drain_timeout=args.drain_timeout,
    )
    if args.quick:
        options = dataclasses.replace(options, burst_rate=60.0, duration=10.0, lead=3.0)
    down = unreachable_parts()
    if down:
        print(f"{' and '.join(down)} not reachable: start the stack with `make up`", file=sys.stderr)
        return 2
    command = shlex.join(
        [os.path.relpath(sys.executable), "-m", "bench.burst", *(argv if argv is not None else sys.argv[1:])]
    )
    print(machine_facts(f"`{command}`"))
    print(flush=True)
    with tempfile.TemporaryDirectory(prefix="firstcall-bench-") as scratch, LoadProcess() as load:
        workdir = Path(scratch)
        if args.logs is not None:
            workdir = args.logs
            workdir.mkdir(parents=True, exist_ok=True)
        print(run(quick=args.quick, workdir=workdir, load=load, options=options).markdown(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
