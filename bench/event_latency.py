"""event_latency: from the router's 201 to the ticket's report being visible in the notifier.

Tickets are opened at a modest fixed rate (open loop). For each 201, a watcher in the load process polls
the notifier's `GET /v1/reports/{id}` every few milliseconds until it answers 200; the latency is the
time that 200 arrived minus the time the 201 arrived, so it includes up to one poll interval and one GET
(the baseline row measures that GET alone: the polling floor). As a cross-check that polling cannot
distort, the notifier's own log line for the handled event (written after its commit, millisecond
timestamps) gives the same latency from inside the service.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson

from bench.load import (
    LoadProcess,
    LoadResult,
    Phase,
    PhaseJob,
    Request,
    generate,
    make_client,
    percentile,
    process_cpu_seconds,
    run_phase,
)
from bench.procs import AUTH, Processes, embedded, first_error, outbox_pending, real_stack, wait_idle
from bench.report import Section, cores, ms, rate
from bench.ticket_open import ticket_request

NAME = "event_latency"
HEADERS = [
    "mode",
    "measured",
    "rate/s",
    "samples",
    "errors",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "server CPU",
    "client CPU",
    "PG+Kafka CPU",
    "other CPU",
]
# Modest: well below what the three services sustain together on 2 cores, so that the latency is the
# pipeline's and not a queue. At 25/s it was a queue: the notifier's sentence encoding and detection
# (~25 ms of CPU per ticket), knowledge's suggestions (~14) and the router (~16) need ~1.7 cores.
RATE = 10.0
POLL_INTERVAL = 0.010
POLL_BUDGET = 4  # polls per ticket per second at most, in all (healthy runs need 2 or 3)
SEE_TIMEOUT = 10.0


@dataclass(frozen=True)
class LatencyJob:
    router: str
    notifier: str
    phase: Phase
    tag: str
    watch_pids: tuple[int, ...]
    poll_interval: float = POLL_INTERVAL
    see_timeout: float = SEE_TIMEOUT


@dataclass(frozen=True)
class LatencyResult:
    post: LoadResult  # the POSTs themselves
    visible_ms: list[float]  # sorted: 201 -> first 200 from the notifier, tickets of the window
    not_seen: int  # tickets of the window the notifier did not show within see_timeout
    polls: int  # GETs the watchers sent for the window's tickets
    created_at: dict[str, float]  # ticket id -> wall-clock time its 201 arrived (window only)
    primed_in: float  # seconds the first ticket took to reach the notifier (consumers joining)
    primed_id: str  # that first ticket


class _Pacer:
    """At most `per_second` polls in all, evenly spaced: a slow pipeline is not also buried in polls."""

    def __init__(self, per_second: float) -> None:
        self.interval, self.next = 1 / per_second, 0.0

    async def wait(self) -> None:
        now = time.perf_counter()
        slot = max(now, self.next)
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


async def _watch(
    poll: httpx.AsyncClient, ticket_id: str, interval: float, timeout: float, pacer: _Pacer | None = None
) -> tuple[float | None, int]:
    """(perf_counter() time the notifier first answered 200, GETs sent), or None after `timeout`."""
    deadline = time.perf_counter() + timeout
    polls = 0
    while True:
        if pacer is not None:
            await pacer.wait()
        polls += 1
        try:
            response = await poll.get(f"/v1/reports/{ticket_id}")
            if response.status_code == 200:
                return time.perf_counter(), polls
        except httpx.HTTPError:
            pass
        if time.perf_counter() > deadline:
            return None, polls
        await asyncio.sleep(interval)


async def run_latency(job: LatencyJob) -> LatencyResult:
    visible: list[float] = []
    created_at: dict[str, float] = {}
    counts = {"not_seen": 0, "polls": 0}
    first_in_window = round(job.phase.warmup * job.phase.rate)
    async with (
        make_client(job.router, connections=job.phase.connections) as post,
        make_client(job.notifier, connections=64, headers=AUTH) as poll,
    ):
        # One ticket all the way through first: consumers may still be joining their group.
        started = time.perf_counter()
        prime = ticket_request(0, tag=f"{job.tag}prime")
        response = await post.post(prime.path, headers=prime.headers, content=prime.content)
        response.raise_for_status()
        primed_id = response.json()["id"]
        seen, _ = await _watch(poll, primed_id, 0.05, 90)
        if seen is None:
            raise RuntimeError(f"the first ticket ({primed_id}) never reached the notifier")
        primed_in = seen - started

        pacer = _Pacer(job.phase.rate * POLL_BUDGET)

        async def watch(n: int, response: httpx.Response, done: float) -> None:
            ticket_id = response.json()["id"]
            wall = time.time() - (time.perf_counter() - done)
            seen, polls = await _watch(poll, ticket_id, job.poll_interval, job.see_timeout, pacer)
            if n < first_in_window:
                return
            counts["polls"] += polls
            if seen is None:
                counts["not_seen"] += 1
            else:
                visible.append((seen - done) * 1000)
                created_at[ticket_id] = wall

        result = await generate(
            post, job.phase, functools.partial(ticket_request, tag=job.tag), after=watch, watch_pids=job.watch_pids
        )
    return LatencyResult(
        post=result,
        visible_ms=sorted(visible),
        not_seen=counts["not_seen"],
        polls=counts["polls"],
        created_at=created_at,
        primed_in=primed_in,
        primed_id=primed_id,
    )


def report_request(n: int, *, ids: tuple[str, ...]) -> Request:
    return Request("GET", f"/v1/reports/{ids[n % len(ids)]}", AUTH)


def handled_times(log: str, *, service: str = "notifier") -> dict[str, float]:
    """Ticket id -> wall-clock time `service` logged handling its TicketOpened (after the commit)."""
    times: dict[str, float] = {}
    for line in log.splitlines():
        if '"handled ' not in line:
            continue
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if (
            entry.get("service") == service
            and entry.get("logger") == "shared.messaging.inbox"
            and str(entry.get("message", "")).startswith("handled ")
            and "subject" in entry
        ):
            times[entry["subject"]] = datetime.fromisoformat(entry["time"]).timestamp()
    return times


@dataclass(frozen=True)
class Plan:
    latency: Phase
    floor: Phase


def plan(quick: bool) -> Plan:
    duration, warmup = (3.0, 1.0) if quick else (10.0, 2.0)
    return Plan(
        latency=Phase.open(rate=RATE, duration=duration, warmup=warmup, connections=16),
        floor=Phase.open(rate=RATE, duration=2.0 if quick else 5.0, warmup=0.5, connections=16),
    )


@dataclass(frozen=True)
class ModeResult:
    mode: str
    latency: LatencyResult
    floor: LoadResult
    from_log: list[float]
    missing_in_log: int
    pending_after: int | None
    errors_logged: list[str]
    cpu_ms_per_ticket: dict[str, float]  # by process, over the whole latency run, polls included


@dataclass
class _Mode:
    """One way of running the services, its processes, and what was measured on it so far."""

    name: str
    procs: Processes
    log_name: str  # the log holding the notifier's lines
    latency: LatencyResult | None = None
    floor: LoadResult | None = None
    pending_after: int | None = None
    cpu_ms_per_ticket: dict[str, float] = field(default_factory=dict)

    def result(self) -> ModeResult:
        """Read the logs (complete once the processes have stopped) and put it all together."""
        assert self.latency is not None, "measured first"
        assert self.floor is not None, "measured first"
        handled = handled_times(self.procs.log_text(self.log_name))
        created = self.latency.created_at
        from_log = sorted((handled[ticket] - at) * 1000 for ticket, at in created.items() if ticket in handled)
        missing = sum(1 for ticket in created if ticket not in handled)
        logs = self.procs.logs
        logged = [f"{name}: {error}" for name in logs if (error := first_error(self.procs.log_text(name))) is not None]
        return ModeResult(
            self.name, self.latency, self.floor, from_log, missing, self.pending_after, logged, self.cpu_ms_per_ticket
        )


def _measure(modes: list[_Mode], load: LoadProcess, the_plan: Plan) -> list[ModeResult]:
    """The modes take turns (latency, then the polling floor) so background load hits them alike."""
    everyone = tuple(pid for mode in modes for pid in mode.procs.pids)
    for mode in modes:
        wait_idle(everyone)
        urls = mode.procs.url("router"), mode.procs.url("notifier")
        before = {name: process_cpu_seconds(p.pid) for name, p in mode.procs.processes.items()}
        mode.latency = load.run(run_latency, LatencyJob(*urls, the_plan.latency, uuid.uuid4().hex[:6], mode.procs.pids))
        tickets = round(the_plan.latency.rate * (the_plan.latency.warmup + the_plan.latency.duration)) + 1
        mode.cpu_ms_per_ticket = {
            name: (process_cpu_seconds(p.pid) - before[name]) / tickets * 1000
            for name, p in mode.procs.processes.items()
        }
        mode.pending_after = outbox_pending(mode.procs.url("router"))
    for mode in modes:
        wait_idle(everyone)
        assert mode.latency is not None
        ids = tuple(list(mode.latency.created_at)[:500]) or (mode.latency.primed_id,)
        get = functools.partial(report_request, ids=ids)
        mode.floor = load.run(run_phase, PhaseJob(mode.procs.url("notifier"), the_plan.floor, get, mode.procs.pids))
    for mode in modes:
        mode.procs.stop_all()
    return [mode.result() for mode in modes]


def _rows(result: ModeResult) -> Iterator[list[str]]:
    lat, floor = result.latency, result.floor

    def row(measured: str, per_s: float, values: list[float], errors: int, cpu: LoadResult | None) -> list[str]:
        return [
            result.mode,
            measured,
            rate(per_s),
            str(len(values)),
            str(errors),
            *(ms(percentile(values, q)) for q in (50, 90, 99, 100)),
            cores(cpu.cpu.server) if cpu else "",
            cores(cpu.cpu.client) if cpu else "",
            cores(cpu.cpu.stack) if cpu else "",
            cores(cpu.cpu.other) if cpu else "",
        ]

    per_s = lat.post.phase.rate
    yield row(
        "baseline: GET an existing report (polling floor)",
        floor.phase.rate,
        floor.latencies_ms,
        floor.error_count,
        floor,
    )
    yield row(
        f"201 -> report visible (poll every {POLL_INTERVAL * 1000:.0f} ms)",
        per_s,
        lat.visible_ms,
        lat.not_seen,
        lat.post,
    )
    yield row("201 -> notifier logged it handled (cross-check)", per_s, result.from_log, result.missing_in_log, None)
    yield row("POST /v1/tickets -> 201 (for reference)", per_s, lat.post.latencies_ms, lat.post.error_count, None)


def run(*, quick: bool, workdir: Path, load: LoadProcess) -> Section:
    the_plan = plan(quick)
    with embedded(workdir) as alone, real_stack(workdir) as stack:
        modes = [_Mode("embedded", alone, "embedded"), _Mode("real stack", stack, "notifier")]
        results = _measure(modes, load, the_plan)

    rows = [row for result in results for row in _rows(result)]
    lat = the_plan.latency
    notes = [
        f"{lat.rate:g} tickets/s, open loop, {lat.warmup:g} s warm-up then {lat.duration:g} s; the polling floor: "
        f"{the_plan.floor.rate:g} GET/s for {the_plan.floor.duration:g} s over reports that exist",
        "embedded: `python -m services.cli run` (one process, SQLite files, in-memory bus); real stack: "
        "`python -m services.cli serve router|knowledge|notifier` as three processes on PostgreSQL (fresh "
        "databases) and Kafka (private topic prefix)",
        f"watchers poll each ticket every {POLL_INTERVAL * 1000:g} ms, at most {POLL_BUDGET * lat.rate:g} GET/s in "
        "all (a slow pipeline is not also buried in polls; when that cap binds, the log row is the one to read)",
        "errors: tickets the notifier did not show within "
        f"{SEE_TIMEOUT:g} s (or, for the log row, never logged); server CPU: cores used by all service processes",
        "the log row reads the notifier's `handled` line (written after its commit; millisecond timestamps, "
        "truncated) against the wall-clock time the 201 arrived: polling adds up to one interval and one GET",
    ]
    for result in results:
        lat_result = result.latency
        watched = max(len(lat_result.visible_ms) + lat_result.not_seen, 1)
        pending = "?" if result.pending_after is None else result.pending_after
        notes.append(
            f"{result.mode}: first ticket reached the notifier {lat_result.primed_in:.1f} s after start "
            f"(consumers joining, not measured); watchers sent {lat_result.polls / watched:.1f} GETs per ticket; "
            f"router outbox after the run: {pending} unpublished; "
            "CPU per ticket (its polls included): "
            + ", ".join(f"{name} {value:.1f} ms" for name, value in result.cpu_ms_per_ticket.items())
        )
        notes.extend(f"{result.mode}: logged errors; the first in {error}" for error in result.errors_logged)
        for kind, count in sorted(lat_result.post.errors.items()):
            notes.append(f"{result.mode}: POST errors {kind}: {count}")
    return Section(
        name=NAME,
        title="router 201 to ticket visible in the notifier, embedded vs real stack",
        about=(
            "How long after the router answers 201 the notifier shows the ticket's report: the outbox relay, "
            "the bus (in-memory, or Kafka), the notifier's consumer and its transaction. Same load generator, "
            "same rate, both modes measured in this run."
        ),
        headers=HEADERS,
        rows=rows,
        notes=notes,
    )
