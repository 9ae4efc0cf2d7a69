"""Where the detection lock's time goes, on a window kept by `notifier_scale --keep` (not run by `make bench`).

    python -m bench.notifier_phases NAME [--rounds N]   # needs PostgreSQL (make up; source var/stack.env)

Each round is `notifier_scale`'s measurement of 200 new reports after as many for warming up (each adds its
400 reports to the window), with a clock around each step of detection: the lock, the term statistics, the
postings of both indexes, the lookups of both, the fetch of the candidates' vectors and their re-scoring
(the lookups, the fetch and the scoring also run once more per report for `similar`, outside the lock:
their rows say how many calls a report makes). Beside it, the CPU per report of this process and of
PostgreSQL's processes (from /proc): when the two add up to the wall time, the work is serial CPU, not
waiting on a disk.

Then the tail: the slowest twentieth of the reports' detections against the median report, step by step
(detection's own calls only), with what no step covers (Python between the steps, the report's INSERT when
it is a separate statement), the cyclic garbage collector's pauses and this thread's CPU inside detection,
so a slow report shows whether it waited (on PostgreSQL, the disk, another process on the cores) or worked.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.notifier_scale import DATABASE_TEMPLATE, SAMPLES, as_served, measure, settings
from bench.notifier_window import PROBES, Corpus, database_url, real_texts
from bench.report import table
from services.notifier.detection import buckets, index
from services.notifier.detection import service as detection_service
from services.notifier.problems import service as problem_service
from shared import heap
from shared.db import Database

# The steps timed, by the module attribute detection calls them through.
STEPS: list[tuple[Any, str, str]] = [
    (detection_service, "lock_and_read", "lock, redelivery check, term statistics, bucket models"),
    (detection_service, "_write_report", "report and postings (one write)"),
    (index, "candidates", "term lookup"),
    (buckets, "candidates", "bucket probe"),
    (detection_service, "_stored", "candidates' vectors"),
    (detection_service, "score_parts", "re-scoring"),
]


GC, CPU, OTHER = "garbage collector", "this thread's CPU", "between the steps"


class Reports:
    """Each report's detection, step by step: a record opens at the detection lock and closes when the
    report is placed in a cluster (what follows, `similar` included, is not detection)."""

    def __init__(self) -> None:
        self.records: list[dict[str, float]] = []
        self.open: dict[str, float] | None = None
        self._cpu = 0.0
        self._gc_started = 0.0
        gc.callbacks.append(self._collector)

    def start(self) -> None:
        self.open = defaultdict(float)
        self.records.append(self.open)
        self._cpu = time.thread_time()

    def stop(self) -> None:
        if self.open is not None:
            self.open[CPU] = (time.thread_time() - self._cpu) * 1000
        self.open = None

    def add(self, label: str, milliseconds: float) -> None:
        if self.open is not None:
            self.open[label] += milliseconds

    def clear(self) -> None:
        self.records.clear()

    def _collector(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.add(GC, (time.perf_counter() - self._gc_started) * 1000)


def timed(times: dict[str, list[float]], reports: Reports, label: str, step: Callable[..., Any]) -> Callable[..., Any]:
    def record(started: float) -> None:
        milliseconds = (time.perf_counter() - started) * 1000
        times[label].append(milliseconds)
        reports.add(label, milliseconds)

    if asyncio.iscoroutinefunction(step):

        @functools.wraps(step)
        async def clocked_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await step(*args, **kwargs)
            finally:
                record(started)

        return clocked_async

    @functools.wraps(step)
    def clocked(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            record(started)

    return clocked


def bracket(reports: Reports) -> None:
    """Open a report's record as detection takes its lock, close it as clustering begins."""
    lock, place = detection_service.lock_and_read, problem_service.place_report

    @functools.wraps(lock)
    async def locking(*args: Any, **kwargs: Any) -> Any:
        reports.start()
        return await lock(*args, **kwargs)

    @functools.wraps(place)
    async def placing(*args: Any, **kwargs: Any) -> Any:
        reports.stop()
        return await place(*args, **kwargs)

    detection_service.lock_and_read = locking
    problem_service.place_report = placing


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu() -> float:
    """CPU seconds of every process named postgres on this machine (its backends, checkpointer, autovacuum)."""
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def run_async(name: str, rounds: int) -> str:
    times: dict[str, list[float]] = defaultdict(list)
    reports = Reports()
    for module, attribute, label in STEPS:
        setattr(module, attribute, timed(times, reports, label, getattr(module, attribute)))
    bracket(reports)
    database = Database(database_url(DATABASE_TEMPLATE, name))
    config = settings()
    as_served()
    _, probes = real_texts(PROBES)
    heap.settle()
    sections = []
    try:
        for round_ in range(rounds):
            await measure(database, Corpus(seed=100 + round_), probes[:SAMPLES], config)
            times.clear()
            reports.clear()
            wall, mine, theirs = time.perf_counter(), own_cpu(), postgres_cpu()
            result = await measure(database, Corpus(seed=200 + round_), probes[SAMPLES:], config)
            wall, mine, theirs = time.perf_counter() - wall, own_cpu() - mine, postgres_cpu() - theirs
            sections.append(section(round_, result["detection"], dict(times), (wall, mine, theirs)))
            sections.append(tail(result["detection"], reports.records))
    finally:
        await database.dispose()
    return "\n".join(sections)


def section(round_: int, detection: list[float], times: dict[str, list[float]], cpu: tuple[float, float, float]) -> str:
    def percentile(values: list[float], q: int) -> float:
        return float(np.percentile(values, q))  # as notifier_scale's table computes it

    wall, mine, theirs = (seconds / SAMPLES * 1000 for seconds in cpu)
    rows = [
        [
            label,
            f"{len(times[label]) / SAMPLES:.0f}",
            f"{statistics.median(times[label]):.2f}",
            f"{percentile(times[label], 99):.2f}",
            f"{sum(times[label]) / SAMPLES:.2f}",
        ]
        for _, _, label in STEPS
        if times.get(label)
    ]
    return "\n".join(
        [
            f"## round {round_ + 1}: detection p50 {statistics.median(detection):.1f} / p99 "
            f"{percentile(detection, 99):.1f} ms",
            "",
            f"Per report (the whole intake and `similar`): wall {wall:.1f} ms, this process's CPU {mine:.1f} ms, "
            f"PostgreSQL's CPU {theirs:.1f} ms.",
            "",
            table(["step", "calls per report", "p50 ms", "p99 ms", "ms per report"], rows),
            "",
        ]
    )


def tail(detection: list[float], records: list[dict[str, float]]) -> str:
    """The slowest twentieth of detections against the median one, step by step (ms)."""
    assert len(records) == len(detection), "one record per report's detection"
    labels = [label for _, _, label in STEPS if any(label in record for record in records)]
    for record, total in zip(records, detection, strict=True):
        record[OTHER] = total - sum(record[label] for label in labels)
    slowest = np.argsort(detection)[-max(1, len(detection) // 20) :]
    rows = []
    for label in [*labels, OTHER, GC, CPU]:
        values = np.array([record.get(label, 0.0) for record in records])
        median, slow = float(np.median(values)), float(values[slowest].mean())
        rows.append([label, f"{median:.2f}", f"{slow:.2f}", f"{slow - median:+.2f}"])
    slow_total = float(np.array(detection)[slowest].mean())
    rows.append(["detection", f"{statistics.median(detection):.2f}", f"{slow_total:.2f}", ""])
    return "\n".join(
        [
            f"Tail: the {len(slowest)} slowest detections (mean) against the median report, per step of "
            f"detection (the lookups' second call, for `similar`, left out); {GC} and {CPU} overlap the steps.",
            "",
            table(["step", "median ms", "slowest 5% ms", "excess ms"], rows),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="where detection's time goes on a kept window")
    parser.add_argument("name", help="a database kept by python -m bench.notifier_scale --keep")
    parser.add_argument("--rounds", type=int, default=1)
    arguments = parser.parse_args()
    print(asyncio.run(run_async(arguments.name, arguments.rounds)))


if __name__ == "__main__":
    main()
