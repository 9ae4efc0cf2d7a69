"""A bounded async HTTP load generator: httpx, one keep-alive connection pool, run in a process of its own.

Two ways to offer load:

- **closed loop** (`Phase.closed`): N workers each send a request, wait for the answer, send the next, for T
  seconds. It finds the maximum throughput; its latencies are those of a saturated server.
- **open loop** (`Phase.open`): requests are *scheduled* at a fixed rate R/s whatever the server does, and
  each latency runs from the scheduled send time, so time spent queueing (in the client's connection pool
  or behind a slow server) is counted instead of hidden (no coordinated omission). In-flight requests are
  bounded; a request that finds the bound reached is not sent and counts as an error (`dropped`).

Every request sent during the measurement window counts (a warm-up before it is discarded). Its latency
is recorded whatever its outcome; a timeout counts as the time it took to give up. The throughput is the
successful requests of the window divided by the window, or by the time until the last of them answered
when that is longer (a server that falls behind does not get credit for answers after the window).

The generator shares the machine with the server, so it runs in a process of its own (`LoadProcess`).
From /proc it reports who kept the cores busy from the window's start until its last answer: itself, the
server processes, PostgreSQL and Kafka, and everything else (`CpuUsage`).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx
import uvloop

A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


# The n-th request of a phase (a module-level function or a functools.partial of one: it crosses processes).
RequestFactory = Callable[[int], Request]
# Called, in a task of its own, with each successful response and the perf_counter() time it arrived.
ResponseHook = Callable[[int, httpx.Response, float], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Phase:
    """One stretch of load: how it is offered and for how long."""

    mode: Literal["closed", "open"]
    duration: float
    warmup: float
    connections: int
    rate: float = 0.0  # open loop: requests per second
    timeout: float = 5.0  # per request, from its scheduled time: waiting for a connection included
    max_in_flight: int = 5000  # open loop: requests scheduled but not answered yet

    @classmethod
    def closed(cls, *, concurrency: int, duration: float, warmup: float) -> Phase:
        return cls("closed", duration, warmup, concurrency)

    @classmethod
    def open(cls, *, rate: float, duration: float, warmup: float, connections: int = 64) -> Phase:
        return cls("open", duration, warmup, connections, rate=rate)

    @property
    def label(self) -> str:
        return f"closed, {self.connections} concurrent" if self.mode == "closed" else f"open, {self.rate:g}/s"


@dataclass(frozen=True)
class LoadResult:
    phase: Phase
    window: float  # seconds the measurement window lasted
    sent: int  # requests scheduled in the window (dropped ones included)
    ok: int
    errors: dict[str, int]
    throughput: float  # successful requests per second
    latencies_ms: list[float]  # every request sent in the window, sorted
    cpu: CpuUsage

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def server_ms_per_request(self) -> float:
        """Server CPU time per successful request, in milliseconds (robust to a busy machine)."""
        if self.cpu.server is None or self.ok == 0:
            return math.nan
        return self.cpu.server * self.cpu.seconds / self.ok * 1000

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(math.ceil(q / 100 * len(sorted_values)), 1)
    return sorted_values[min(rank, len(sorted_values)) - 1]


# ---------------------------------------------------------------------------------------------- CPU from /proc

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15 of proc(5)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle, summed over cores."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICK


def background_cpu(seconds: float = 1.0) -> float:
    """Cores the machine keeps busy over `seconds` while we wait (what else is running)."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / seconds


STACK_COMMANDS = frozenset({"postgres", "java"})  # PostgreSQL's processes and Kafka's JVM


def stack_cpu_seconds() -> dict[int, float]:
    """CPU seconds of every PostgreSQL and Kafka process on the machine, by pid."""
    usage: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm") as comm:
                if comm.read().strip() not in STACK_COMMANDS:
                    continue
        except OSError:
            continue
        usage[int(entry.name)] = process_cpu_seconds(int(entry.name))
    return usage


@dataclass(frozen=True)
class CpuUsage:
    """Cores busy over a window (2.0 = both cores of a 2-core machine), by who was busy."""

    seconds: float  # how long the window lasted, until its last request was answered
    client: float  # the load generator's process
    server: float | None  # the processes under test (None: none watched)
    stack: float  # PostgreSQL and Kafka (whoever uses them)
    machine: float  # everything

    @property
    def other(self) -> float:
        """Everything else: other programs on the machine."""
        return max(self.machine - self.client - (self.server or 0.0) - self.stack, 0.0)


@dataclass
class _CpuMeter:
    pids: Sequence[int]
    client: float = 0.0
    server: float = 0.0
    stack: dict[int, float] = field(default_factory=dict)
    machine: float = 0.0
    wall: float = 0.0

    def start(self) -> None:
        self.client, self.server = time.process_time(), sum(process_cpu_seconds(p) for p in self.pids)
        self.stack, self.machine, self.wall = stack_cpu_seconds(), machine_busy_seconds(), time.perf_counter()

    def stop(self) -> CpuUsage:
        wall = max(time.perf_counter() - self.wall, 1e-9)
        server = sum(process_cpu_seconds(p) for p in self.pids) - self.server
        # A process born in the window (a new database connection) counts whole; one that died is lost.
        stack = sum(seconds - self.stack.get(pid, 0.0) for pid, seconds in stack_cpu_seconds().items())
        return CpuUsage(
            seconds=wall,
            client=(time.process_time() - self.client) / wall,
            server=server / wall if self.pids else None,
            stack=max(stack, 0.0) / wall,
            machine=(machine_busy_seconds() - self.machine) / wall,
        )


# ---------------------------------------------------------------------------------------------- the generator


def make_client(
    base_url: str, *, connections: int, timeout: float = 30.0, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """One HTTP/1.1 keep-alive pool of `connections` connections; no proxies from the environment."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        http1=True,
        http2=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(timeout),
    )


async def _send(
    client: httpx.AsyncClient, request: Request, deadline: float
) -> tuple[str | None, httpx.Response | None]:
    """(error kind or None, response): a non-2xx answer, a timeout or a transport error is an error."""
    try:
        async with asyncio.timeout(deadline - time.perf_counter()):
            response = await client.request(
                request.method, request.path, headers=request.headers, content=request.content
            )
    except TimeoutError:
        return "timeout", None
    except httpx.HTTPError as exc:
        return type(exc).__name__, None
    return (None if response.is_success else f"HTTP {response.status_code}"), response


@dataclass
class _Recorder:
    window_start: float
    window_end: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    ok: int = 0
    sent: int = 0
    last_done: float = 0.0

    def in_window(self, sent_at: float) -> bool:
        return self.window_start <= sent_at < self.window_end

    def record(self, sent_at: float, done: float, error: str | None) -> None:
        if not self.in_window(sent_at):
            return
        self.sent += 1
        self.latencies.append((done - sent_at) * 1000)
        if error is None:
            self.ok += 1
            self.last_done = max(self.last_done, done)
        else:
            self.errors[error] += 1

    def drop(self, scheduled: float) -> None:
        if self.in_window(scheduled):
            self.sent += 1
            self.errors["dropped"] += 1


@dataclass
class _Run:
    """One phase in progress: sends requests, records them, and hands successes to the hook."""

    client: httpx.AsyncClient
    phase: Phase
    make: RequestFactory
    after: ResponseHook | None
    recorder: _Recorder
    # At most one request per connection is handed to httpx; the others wait here, in order. (httpcore's
    # own queue of waiting requests costs time proportional to its length on every release.)
    gate: asyncio.Semaphore
    hooks: set[asyncio.Task[None]] = field(default_factory=set)

    async def one(self, n: int, sent_at: float) -> None:
        deadline = sent_at + self.phase.timeout
        try:
            async with asyncio.timeout(deadline - time.perf_counter()):
                await self.gate.acquire()
        except TimeoutError:
            self.recorder.record(sent_at, time.perf_counter(), "timeout")
            return
        try:
            error, response = await _send(self.client, self.make(n), deadline)
        finally:
            self.gate.release()
        done = time.perf_counter()
        self.recorder.record(sent_at, done, error)
        if self.after is not None and response is not None and error is None:
            task = asyncio.create_task(self.after(n, response, done))
            self.hooks.add(task)
            task.add_done_callback(self.hooks.discard)

    async def closed_loop(self) -> None:
        counter = itertools.count()

        async def worker() -> None:
            while (now := time.perf_counter()) < self.recorder.window_end:
                await self.one(next(counter), now)

        await asyncio.gather(*(worker() for _ in range(self.phase.connections)))

    async def open_loop(self, start: float) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        interval = 1 / self.phase.rate
        for n in range(round((self.phase.warmup + self.phase.duration) * self.phase.rate)):
            scheduled = start + n * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= self.phase.max_in_flight:
                self.recorder.drop(scheduled)
                continue
            task = asyncio.create_task(self.one(n, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)


async def generate(
    client: httpx.AsyncClient,
    phase: Phase,
    make: RequestFactory,
    *,
    after: ResponseHook | None = None,
    watch_pids: Sequence[int] = (),
) -> LoadResult:
    """Offer `phase`'s load through `client`; `after` sees each successful response (in its own task)."""
    start = time.perf_counter()
    recorder = _Recorder(start + phase.warmup, start + phase.warmup + phase.duration)
    run = _Run(client, phase, make, after, recorder, asyncio.Semaphore(phase.connections))
    meter = _CpuMeter(watch_pids)
    # CPU is metered from the window's start until its last request is answered: the work it caused.
    starting = asyncio.get_running_loop().call_later(max(recorder.window_start - time.perf_counter(), 0), meter.start)
    if phase.mode == "closed":
        await run.closed_loop()
    else:
        await run.open_loop(start)
    starting.cancel()
    usage = meter.stop()
    while run.hooks:
        await asyncio.gather(*run.hooks)
    elapsed = max(phase.duration, recorder.last_done - recorder.window_start)
    return LoadResult(
        phase=phase,
        window=elapsed,
        sent=recorder.sent,
        ok=recorder.ok,
        errors=dict(recorder.errors),
        throughput=recorder.ok / elapsed,
        latencies_ms=sorted(recorder.latencies),
        cpu=usage,
    )


@dataclass(frozen=True)
class PhaseJob:
    """A plain phase against one server, ready to send to the load process."""

    base_url: str
    phase: Phase
    make: RequestFactory
    watch_pids: tuple[int, ...] = ()


async def run_phase(job: PhaseJob) -> LoadResult:
    async with make_client(job.base_url, connections=job.phase.connections) as client:
        return await generate(client, job.phase, job.make, watch_pids=job.watch_pids)


# ---------------------------------------------------------------------------------------------- its own process


def _run_job(job: Callable[[A], Coroutine[Any, Any, R]], argument: A) -> R:
    return uvloop.run(job(argument))


class LoadProcess:
    """A worker process (spawned: a clean interpreter) that runs load jobs on uvloop, one at a time.

    `job` must be a module-level coroutine function and `argument` picklable: both cross the process line.
    """

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def run(self, job: Callable[[A], Coroutine[Any, Any, R]], argument: A) -> R:
        return self._pool.submit(_run_job, job, argument).result()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
