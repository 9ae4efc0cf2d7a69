"""notifier_replicas: how fast 1, 2 and 4 notifier processes drain a backlog of tickets (issue 23).

The notifier is the pipeline's bottleneck (bench/burst.py): each report is encoded (one ONNX thread per
process) and then detected under a lock. More processes in the consumer group should add throughput until
the cores or the detection lock bind; this measures where that happens on the machine it runs on.

For each replica count, on a fresh stack of its own (`firstcall serve` router and notifiers, fresh
PostgreSQL databases, a private Kafka topic prefix, personal fields sealed as deployed):

1. a contact center (a child process answering every webhook with 204) is subscribed to customers'
   messages by a notifier started for it alone, so each acknowledgement is sent once, as deployed;
2. the router alone takes `--tickets` tickets (BANKING77's test texts, a fifth of them one outage in varied
   words, every ticket a new customer) and its outbox drains to Kafka: the backlog;
3. the N notifier processes start together and drain it; once every report is in the notifier's database,
   the rate is read from the reports' own `received_at`: the reports between the 10th and the 90th
   percentile over the time between them (the group's start-up and last stragglers left out).

The baseline is one notifier in the same run. CPU per report is each process's CPU (/proc) from the moment
every notifier answered /readyz until the last report, over the reports; the router's column is what it
spends answering the notifiers' data-key requests and taking in their problem events.

    python -m bench.notifier_replicas                      # 1, 2, 4 processes, 1,000 tickets each
    python -m bench.notifier_replicas --replicas 1,2 --tickets 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.burst_measure import APP_CRASH
from bench.load import process_cpu_seconds
from bench.notifier_frontier import contact_center
from bench.procs import AUTH, Processes, first_error, free_port, stack_env, wait_outbox_drained
from bench.report import machine_facts, table
from bench.ticket_open import customer_texts
from tests.stack import DATABASE_TEMPLATE, create_database, delete_topics, drop_database, unreachable_parts

NAME = "notifier_replicas"
SERVICES = ("router", "notifier")
OUTAGE_EVERY = 5  # one ticket in five is the outage
SENDERS = 16  # concurrent POSTs while the backlog is made
POLL = 0.5  # seconds between two counts of the notifier's reports


@dataclass(frozen=True)
class Drained:
    replicas: int
    reports: int
    seconds: float  # first report to last
    rate: float  # reports/s between the 10th and 90th percentile of received_at
    notifier_cpu_ms: float  # per report, all notifier processes
    router_cpu_ms: float  # per report: the data keys the notifiers asked for, their problem events
    problems: int
    logged: list[str]


@contextlib.contextmanager
def stack(workdir: Path) -> Iterator[tuple[Processes, dict[str, str], dict[str, str]]]:
    """The router running; the notifiers' environment ready for them. Removed afterwards."""
    run = uuid.uuid4().hex[:8]
    databases = {service: f"fc_bench_{run}_{service}" for service in SERVICES}
    topic_prefix = f"bench{run}."
    procs = Processes(Path(tempfile.mkdtemp(prefix="replicas-", dir=workdir)))
    procs.ports["router"] = free_port()
    # Plain-http webhooks: the contact center below listens on loopback.
    env = {**stack_env(run, router_url=procs.url("router")), "FIRSTCALL_NOTIFIER_WEBHOOK_ALLOW_HTTP": "true"}
    created: list[str] = []
    try:
        for name in databases.values():
            asyncio.run(create_database(name))
            created.append(name)
        procs.start(
            "router",
            ["-m", "services.cli", "serve", "router"],
            {**env, "FIRSTCALL_ROUTER_PORT": str(procs.ports["router"])},
        )
        procs.wait_ready("router", [f"{procs.url('router')}/readyz"])
        yield procs, env, databases
    finally:
        procs.stop_all()
        for name in created:
            asyncio.run(drop_database(name))
        asyncio.run(delete_topics(topic_prefix))


def ticket(n: int, run: str) -> dict[str, object]:
    if n % OUTAGE_EVERY == 0:
        subject, description = APP_CRASH.text(n)
    else:
        texts = customer_texts()
        description = texts[n % len(texts)]
        subject = description[:80]
    return {
        "customer": {"external_id": f"crm:{run}-{n}", "name": f"Customer {n}"},
        "channel": "web",
        "subject": subject,
        "description": description,
        "priority": "normal",
    }


async def make_backlog(url: str, count: int, run: str) -> int:
    """Open `count` tickets; the number accepted (a 503 is tried again after its Retry-After)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    accepted = 0

    async def send(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while not queue.empty():
            n = queue.get_nowait()
            for _ in range(20):
                try:
                    answer = await client.post(
                        "/v1/tickets", json=ticket(n, run), headers={"Idempotency-Key": f"{run}-{n}"}
                    )
                except httpx.HTTPError:
                    await asyncio.sleep(1)
                    continue
                if answer.status_code == 201:
                    accepted += 1
                    break
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")))

    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30, trust_env=False) as client:
        await asyncio.gather(*(send(client) for _ in range(SENDERS)))
    return accepted


async def _connect(database: str) -> asyncpg.Connection:
    url = make_url(DATABASE_TEMPLATE.replace("{service}", "x"))
    return await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=database
    )


async def _count(database: str) -> int:
    connection = await _connect(database)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM reports"))
    finally:
        await connection.close()


async def _times(database: str) -> tuple[list[float], int]:
    connection = await _connect(database)
    try:
        rows = await connection.fetch("SELECT received_at FROM reports ORDER BY received_at")
        problems = int(await connection.fetchval("SELECT count(*) FROM problems"))
    finally:
        await connection.close()
    return [r["received_at"].timestamp() for r in rows], problems


def subscribe_contact_center(procs: Processes, env: dict[str, str], center: str) -> None:
    """The contact center that passes customers' messages on, subscribed before any report arrives: each
    acknowledgement is then sent once, as deployed (unroutable, it would be retried up to 8 times)."""
    procs.ports["setup"] = free_port()
    procs.start(
        "setup",
        ["-m", "services.cli", "serve", "notifier"],
        {**env, "FIRSTCALL_NOTIFIER_PORT": str(procs.ports["setup"])},
    )
    procs.wait_ready("setup", [f"{procs.url('setup')}/readyz"], timeout=180)
    body = {"url": center, "event_types": ["customer.message"], "secret": "bench-contact-center-" + "s" * 12}
    httpx.post(
        f"{procs.url('setup')}/v1/subscriptions", json=body, headers=AUTH, timeout=30, trust_env=False
    ).raise_for_status()
    procs.stop("setup")


def measure(workdir: Path, replicas: int, tickets: int, timeout: float) -> Drained:
    with stack(workdir) as (procs, env, databases), contact_center() as center:
        subscribe_contact_center(procs, env, center)
        run = uuid.uuid4().hex[:8]
        accepted = asyncio.run(make_backlog(procs.url("router"), tickets, run))
        if wait_outbox_drained(procs.url("router"), timeout=300) is None:
            raise RuntimeError("the router's outbox did not drain in 300 s")
        names = [f"notifier-{n}" for n in range(1, replicas + 1)]
        for name in names:
            procs.ports[name] = free_port()
            procs.start(
                name,
                ["-m", "services.cli", "serve", "notifier"],
                {**env, "FIRSTCALL_NOTIFIER_PORT": str(procs.ports[name])},
            )
        for name in names:
            procs.wait_ready(name, [f"{procs.url(name)}/readyz"], timeout=180)
        pids = [procs.processes[name].pid for name in names]
        router_pid = procs.processes["router"].pid
        notifier_cpu = sum(process_cpu_seconds(pid) for pid in pids)
        router_cpu = process_cpu_seconds(router_pid)
        deadline = time.monotonic() + timeout
        while (counted := asyncio.run(_count(databases["notifier"]))) < accepted:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{replicas} notifier(s) handled {counted} of {accepted} in {timeout:.0f} s")
            time.sleep(POLL)
        notifier_cpu = sum(process_cpu_seconds(pid) for pid in pids) - notifier_cpu
        router_cpu = process_cpu_seconds(router_pid) - router_cpu
        times, problems = asyncio.run(_times(databases["notifier"]))
        logged = [f"{name}: {error}" for name in procs.logs if (error := first_error(procs.log_text(name)))]
        return Drained(
            replicas=replicas,
            reports=len(times),
            seconds=times[-1] - times[0],
            rate=steady_rate(times),
            notifier_cpu_ms=notifier_cpu * 1000 / len(times),
            router_cpu_ms=router_cpu * 1000 / len(times),
            problems=problems,
            logged=logged,
        )


def steady_rate(times: Sequence[float]) -> float:
    """Reports per second between the 10th and the 90th percentile of their arrival times (sorted): the
    group's start-up and the last stragglers left out. NaN when they all arrived at once or too few did."""
    low, high = len(times) // 10, len(times) * 9 // 10
    if high >= len(times) or high <= low:
        return float("nan")
    span = times[high] - times[low]
    return (high - low) / span if span > 0 else float("nan")


def render(results: Sequence[Drained], tickets: int) -> str:
    base = next((r.rate for r in results if r.replicas == 1), None)
    rows = [
        [
            str(r.replicas),
            str(r.reports),
            f"{r.seconds:.1f}",
            f"{r.rate:.1f}",
            f"{r.rate / base:.2f}" if base else "n/a",
            f"{r.notifier_cpu_ms:.1f}",
            f"{r.router_cpu_ms:.1f}",
            str(r.problems),
        ]
        for r in results
    ]
    headers = [
        "notifier processes",
        "reports",
        "first to last report, s",
        "reports/s (p10-p90)",
        "vs 1 process",
        "notifier CPU ms/report",
        "router CPU ms/report (keys, problems)",
        "problems formed",
    ]
    notes = [
        f"a backlog of {tickets} tickets (BANKING77's test texts, one in {OUTAGE_EVERY} an outage in varied words, "
        "each a new customer) on Kafka before the notifiers start; a fresh stack per row; sealing on as deployed; "
        "a contact center (a child process answering 204) subscribed to `customer.message`, so each acknowledgement "
        "is sent once",
        "reports/s: the reports between the 10th and 90th percentile of `received_at` over the time between them",
        *(
            f"logged errors with {r.replicas} process(es); the first in {line}"
            for r in results
            for line in r.logged[:1]
        ),
    ]
    return "\n".join(
        [
            "## notifier_replicas: 1, 2 and 4 notifier processes draining a backlog",
            "",
            table(headers, rows),
            "",
            *(f"- {note}" for note in notes),
        ]
    )


def run(quick: bool, replicas: Sequence[int] = (1, 2, 4), tickets: int | None = None) -> str:
    count = tickets or (200 if quick else 1000)
    with tempfile.TemporaryDirectory(prefix="firstcall-bench-") as scratch:
        results = [measure(Path(scratch), n, count, timeout=1800) for n in replicas]
    return render(results, count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.notifier_replicas",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--replicas", default="1,2,4", help="process counts, comma-separated, each 1-8 (1,2,4)")
    parser.add_argument("--tickets", type=int, default=1000, help="backlog size, 50-20000 (1000)")
    parser.add_argument("--quick", action="store_true", help="200 tickets: a smoke run, not a measurement")
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.replicas.split(",")]
    except ValueError:
        parser.error(f"--replicas {args.replicas!r}: comma-separated whole numbers")
    if not counts or any(not 1 <= n <= 8 for n in counts) or not 50 <= args.tickets <= 20000:
        parser.error("--replicas each 1-8; --tickets 50-20000")
    down = unreachable_parts()
    if down:
        print(f"{' and '.join(down)} not reachable: start the stack with `make up`", file=sys.stderr)
        return 2
    command = shlex.join([os.path.relpath(sys.executable), "-m", "bench.notifier_replicas", *(argv or sys.argv[1:])])
    print(machine_facts(f"`{command}`"))
    print(flush=True)
    print(run(args.quick, counts, 200 if args.quick else args.tickets), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
