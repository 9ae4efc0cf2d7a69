"""A/B of the machinery that exists for speed (issue 25): shared/blas.py, shared/heap.py, and on
PostgreSQL (var/stack.env) shared/lazy_begin.py and shared/inserts.py.

Each variant runs in a child process of its own (the settings it changes are process-wide and some cannot
be undone), with and without the machinery, in alternating rounds, so a change in the machine's load hits
both alike. What is compared is CPU time (user + system, every thread of the child: rusage), never wall
time, and for the collector the CPU time the collector spent where it matters.

    python -m bench.machinery_ab [--rounds 6]
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import event as sa_event
from sqlalchemy import select

from shared import blas, heap

ROUNDS = 6


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _CollectorClock:
    """CPU time of the cyclic collector's runs, in total and inside a marked section."""

    def __init__(self) -> None:
        self.total = 0.0
        self.inside = 0.0
        self.in_section = False
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            spent = time.thread_time() - self._started
            self.total += spent
            if self.in_section:
                self.inside += spent


def _long_lived() -> list[Any]:
    """About 235,000 long-lived containers, as the router holds once its intent model is loaded."""
    return [{"term": (i, str(i)), "postings": [i, i + 1]} for i in range(78_000)]


def blas_products(on: bool) -> dict[str, float]:
    """A report's vector against 1,024 centroids every 2 ms (what detection does), 1,500 times."""
    if on:
        blas.use_one_thread()
    rng = np.random.default_rng(0)
    centroids = rng.standard_normal((1024, 768), dtype=np.float32)
    queries = rng.standard_normal((1500, 768), dtype=np.float32)
    started = _cpu()
    for query in queries:
        centroids @ query
        time.sleep(0.002)
    return {"cpu_s": _cpu() - started}


def malloc_reuse(on: bool) -> dict[str, float]:
    """512 stored vectors made into a 1.5 MB matrix and scored, 2,000 times (the embedding index's step),
    BLAS on one thread as served."""
    blas.use_one_thread()
    if on:
        heap.reuse_freed_memory()
    rng = np.random.default_rng(0)
    stored = [rng.standard_normal(768, dtype=np.float32).tobytes() for _ in range(512)]
    query = rng.standard_normal(768, dtype=np.float32)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started = _cpu()
    for _ in range(2000):
        matrix = np.stack([np.frombuffer(blob, dtype=np.float32) for blob in stored])
        (matrix @ query).argmax()
    return {"cpu_s": _cpu() - started, "page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}


def _requests(clock: _CollectorClock, *, paused: bool, count: int) -> None:
    """`count` sections that allocate as a report's detection does (rows, vectors, a few kept a while)."""
    kept: list[Any] = []
    for i in range(count):
        section = heap.collector_paused() if paused else contextlib.nullcontext()
        with section:
            clock.in_section = True
            rows = [{"id": j, "terms": [j, j + 1], "score": (j, 0.5)} for j in range(600)]
            kept.append(rows[:20])
            clock.in_section = False
        if len(kept) > 200:
            del kept[:100]
        if i % 50 == 0:
            kept.append([kept])  # a cycle now and then, as objects pointing back at their owner make


def gc_freeze(on: bool) -> dict[str, float]:
    """A service's long-lived state, then 3,000 requests: the collector's CPU time with and without `settle`."""
    state = _long_lived()
    if on:
        heap.settle()
    clock = _CollectorClock()
    started = _cpu()
    _requests(clock, paused=False, count=3000)
    del state
    return {"cpu_s": _cpu() - started, "collector_s": clock.total}


def gc_paused(on: bool) -> dict[str, float]:
    """Settled state, then 3,000 detection-like sections: the collector's CPU time inside them."""
    state = _long_lived()
    heap.settle()
    clock = _CollectorClock()
    started = _cpu()
    _requests(clock, paused=on, count=3000)
    del state
    return {"cpu_s": _cpu() - started, "collector_s": clock.total, "collector_in_section_s": clock.inside}


def _backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend has used (it runs on this machine: /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _ticket_writes(*, lazy: bool, combined: bool, count: int = 400) -> dict[str, float]:
    """`count` ticket-like writes, as the router's hot path does them: a read (the identity), then a new
    customer, its identity and three events, in one session. Client and PostgreSQL backend CPU per write."""
    from services.router.customers.models import Customer, CustomerIdentity  # noqa: PLC0415
    from shared import inserts  # noqa: PLC0415
    from shared.db import Database  # noqa: PLC0415
    from shared.inserts import stage_new  # noqa: PLC0415
    from shared.messaging.outbox import add_events  # noqa: PLC0415
    from shared.migrations import upgrade_to_head  # noqa: PLC0415
    from tests.factories import ticket_opened  # noqa: PLC0415
    from tests.stack import create_database, drop_database  # noqa: PLC0415

    if not combined:  # each table's rows in an INSERT of their own, as on SQLite
        inserts._combine = lambda parts: [
            (inserts._insert(table), values if len(values) > 1 else values[0]) for table, values in parts
        ]
    name = f"fc_ab_{uuid.uuid4().hex[:12]}"
    database = Database(await create_database(name), pool_size=1)
    statements = 0

    def counted(*_: Any) -> None:
        nonlocal statements
        statements += 1

    try:
        await upgrade_to_head(database, Path(importlib.import_module("services.router.bootstrap").MIGRATIONS))
        sa_event.listen(database.engine.sync_engine, "before_cursor_execute", counted)
        async with database.session() as session:
            raw = await (await session.connection()).get_raw_connection()
            pid = int(raw.driver_connection.get_server_pid())  # type: ignore[union-attr]
        statements = 0
        client, backend = _cpu(), _backend_cpu(pid)
        for i in range(count):
            ada = Customer(id=uuid.uuid4(), display_name="Ada", created_at=datetime.now(UTC))
            async with database.session(begin_on_write=lazy) as session:
                await session.scalar(
                    select(CustomerIdentity.customer_id).where(CustomerIdentity.value == f"ada{i}@example.com")
                )
                identity = CustomerIdentity(
                    id=uuid.uuid4(),
                    customer_id=ada.id,
                    kind="email",
                    value=f"ada{i}@example.com",
                    created_at=datetime.now(UTC),
                )
                stage_new(session, ada, identity)
                await add_events(session, *(ticket_opened(customer_id=ada.id) for _ in range(3)))
                await session.commit()
        return {
            "client_cpu_ms_per_write": (_cpu() - client) * 1000 / count,
            "postgres_cpu_ms_per_write": (_backend_cpu(pid) - backend) * 1000 / count,
            "statements_per_write": statements / count,
        }
    finally:
        await database.dispose()
        await drop_database(name)


def lazy_begin(on: bool) -> dict[str, float]:
    return asyncio.run(_ticket_writes(lazy=on, combined=True))


def combined_inserts(on: bool) -> dict[str, float]:
    return asyncio.run(_ticket_writes(lazy=True, combined=on))


VARIANTS: dict[str, Callable[[bool], dict[str, float]]] = {
    "blas.use_one_thread": blas_products,
    "heap.reuse_freed_memory": malloc_reuse,
    "heap.settle": gc_freeze,
    "heap.collector_paused": gc_paused,
    "lazy_begin": lazy_begin,
    "inserts (combined INSERT)": combined_inserts,
}


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(VARIANTS[sys.argv[2]](sys.argv[3] == "on")))
        return
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else ROUNDS
    print(f"rounds: {rounds}, alternating with and without, one child process each; medians of CPU time\n")
    print("| machinery | metric | without | with | change |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in [n for n in VARIANTS if "--only" not in sys.argv or n in sys.argv[sys.argv.index("--only") + 1]]:
        results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for i in range(rounds * 2):
            on = (i % 2 == 1) if (i // 2) % 2 == 0 else (i % 2 == 0)  # off, on, on, off, off, on, ...
            child = [sys.executable, "-m", "bench.machinery_ab", "--child", name, "on" if on else "off"]
            results[on].append(json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout))
        for metric in results[True][0]:
            without = statistics.median(r[metric] for r in results[False])
            with_ = statistics.median(r[metric] for r in results[True])
            change = f"{(with_ - without) / without:+.0%}" if without else "n/a"
            print(f"| {name} | {metric} | {without:.3f} | {with_:.3f} | {change} |")


if __name__ == "__main__":
    main()
