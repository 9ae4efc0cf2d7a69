"""Where a report's CPU goes in the notifier, step by step, on PostgreSQL (decision 0044; an experiment:
it leaves the tree once its table is in the record).

One notifier runtime as bench/notifier_frontier.py starts it (PostgreSQL from FIRSTCALL_DATABASE_URL, a
contact center's webhook in a child process), warmed, then rounds of reports through the real event
dispatcher at batches of 32: the process's and the main thread's CPU per report, then one more round
under a sampling profiler of the main thread. Each sample goes to the innermost frame that names a step;
SQLAlchemy's greenlets are linked back to the coroutine that spawned them, so ORM work counts in the step
that asked for it. Samples lean towards the moments the main thread gives up the GIL (socket writes):
read the shares as where the time goes, not to the tenth of a millisecond.

    set -a; source var/stack.env; set +a; .venv/bin/python -m bench.notifier_profile [short|long] [warm] [count]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from sqlalchemy.util import concurrency

from bench import notifier_frontier
from bench.notifier_batch import opened, texts
from shared import blas

# (path fragment, function or None for any) -> step; the first match from the innermost frame outward wins.
STEPS: list[tuple[str, str | None, str]] = [
    ("detection/text.py", None, "text analysis (terms, n-grams, hashing)"),
    ("shared/text/analyser", None, "text analysis (terms, n-grams, hashing)"),
    ("detection/similarity.py", None, "exact re-scoring"),
    ("detection/embedding.py", "stored_cosines", "exact re-scoring"),
    ("detection/embedding.py", "sketch_cosines", "candidates (index reads)"),
    ("detection/embedding.py", None, "encoder hand-off (main thread)"),
    ("consumers/tickets.py", "prepare_opened", "encoder hand-off (main thread)"),
    ("detection/service.py", "cluster_affinity", "clustering"),
    ("problems/clustering.py", None, "clustering"),
    ("detection/index.py", "candidates", "candidates (index reads)"),
    ("detection/buckets.py", "candidates", "candidates (index reads)"),
    ("detection/buckets.py", "active_model", "candidates (index reads)"),
    ("detection/service.py", "_stored", "candidates (index reads)"),
    ("detection/service.py", "_nearby_meanings", "candidates (index reads)"),
    ("detection/service.py", "_scored_candidates", "candidates (index reads)"),
    ("detection/service.py", "lock_and_read", "lock + index write"),
    ("detection/service.py", "_index_on_postgres", "lock + index write"),
    ("detection/service.py", "_write_report", "lock + index write"),
    ("detection/service.py", "index_report", "lock + index write"),
    ("detection/buckets.py", None, "lock + index write"),
    ("reports/service.py", "record_report", "lock + index write"),
    ("problems/sealing.py", None, "problem event: sealing"),
    ("subscriptions/service.py", None, "problem event: publish + outbox"),
    ("shared/messaging/outbox.py", None, "problem event: publish + outbox"),
    ("customers/messages.py", None, "acknowledgements"),
    ("problems/state.py", None, "problem evaluation"),
    ("problems/service.py", None, "problem evaluation"),
    ("customers/service.py", "note_customer", "customer noted"),
    ("reports/service.py", None, "receive_report, detect (the rest)"),
    ("shared/messaging/inbox.py", "claim", "inbox claim"),
    ("shared/messaging/inbox.py", "_handle_once", "commit and session"),
    ("shared/messaging/inbox.py", "__call__", "opening / validation"),
    ("delivery/", None, "delivery worker"),
]
IDLE = "(idle)"
_BOTTOM: dict[int, FrameType] = {}  # a greenlet's bottom frame (by id) -> the frame that spawned it


def link_greenlets() -> None:
    """Make each SQLAlchemy greenlet's bottom frame lead back to the coroutine frame that spawned it."""
    shim: Any = concurrency._concurrency_shim
    original = shim._AsyncIoGreenlet

    class Linked(original):  # type: ignore[misc, valid-type]
        def __init__(self, fn: Any, driver: Any) -> None:
            parent = sys._getframe(1)

            def run(*args: Any, **kwargs: Any) -> Any:
                key = id(sys._getframe())
                _BOTTOM[key] = parent
                try:
                    return fn(*args, **kwargs)
                finally:
                    _BOTTOM.pop(key, None)

            super().__init__(run, driver)

    shim._AsyncIoGreenlet = Linked


class Sampler:
    """Samples the main thread's stack every `interval` seconds, counting each sample's step."""

    def __init__(self, interval: float = 0.0005) -> None:
        self.interval = interval
        self.steps: Counter[str] = Counter()
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        sys.setswitchinterval(0.0002)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        sys.setswitchinterval(0.005)

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = sys._current_frames().get(self._main or 0)
            if frame is not None:
                self.steps[step_of(frame)] += 1
            time.sleep(self.interval)


def step_of(frame: FrameType) -> str:
    if frame.f_code.co_name in ("select", "poll") or frame.f_code.co_filename.endswith("selectors.py"):
        return IDLE
    current: FrameType | None = frame
    while current is not None:
        path, name = current.f_code.co_filename, current.f_code.co_name
        for fragment, function, label in STEPS:
            if fragment in path and (function is None or function == name):
                return label
        current = current.f_back if current.f_back is not None else _BOTTOM.get(id(current))
    return "other background (relay, loop callbacks, rate limiter, census)"


async def measure(kind: str, warm: int, count: int, rounds: int = 3) -> str:
    with tempfile.TemporaryDirectory() as scratch, notifier_frontier.contact_center() as center:
        async with notifier_frontier.dispatcher_for("mpnet", Path(scratch), center) as feed:
            rng = random.Random(1)
            pool = iter(texts(kind))
            await feed([opened(*next(pool), rng) for _ in range(warm)])
            process: list[float] = []
            main: list[float] = []
            for _ in range(rounds + 1):
                events = [opened(*next(pool), rng) for _ in range(count)]
                await asyncio.sleep(notifier_frontier.SETTLE_SECONDS)
                if len(main) == rounds:
                    with Sampler() as sampler:
                        await feed(events)
                        await asyncio.sleep(notifier_frontier.SETTLE_SECONDS)
                    break
                started, own = time.process_time(), time.thread_time()
                await feed(events)
                await asyncio.sleep(notifier_frontier.SETTLE_SECONDS)
                process.append(1000 * (time.process_time() - started) / count)
                main.append(1000 * (time.thread_time() - own) / count)
    main_ms, process_ms = statistics.median(main), statistics.median(process)
    busy = sum(n for step, n in sampler.steps.items() if step != IDLE)
    lines = [
        f"{kind}: process CPU {process_ms:.1f} ms/report (rounds {' / '.join(f'{x:.1f}' for x in process)}), "
        f"main thread {main_ms:.1f}; encoder's thread about {process_ms - main_ms:.1f}; {busy} samples",
        "",
        "| step | share of the main thread's samples | µs/report |",
        "| --- | ---: | ---: |",
    ]
    for step, n in sampler.steps.most_common():
        if step != IDLE:
            lines.append(f"| {step} | {n / busy:.1%} | {n / busy * main_ms * 1000:,.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    blas.use_one_thread()
    link_greenlets()
    arguments = sys.argv[1:]
    print(
        asyncio.run(
            measure(
                arguments[0] if arguments else "short",
                int(arguments[1]) if len(arguments) > 1 else 480,
                int(arguments[2]) if len(arguments) > 2 else 128,
            )
        )
    )
