"""The notifier's frontier: CPU per report for each detection encoder, beside the quality each has on record.

Issue 23 aims 1 and 5: if 50 tickets/s cannot be met on 2 cores with the quality floors held, print what
each option costs and what it keeps. One notifier runtime per encoder (`mpnet`, the default; `minilm`;
`wordllama`; `none`), each on a database of its own (PostgreSQL when FIRSTCALL_DATABASE_URL names one, as
deployed: `source var/stack.env`; else SQLite in a temporary directory), all open in this process. Each
is warmed with the same reports, then the encoders take turns round by round (the order rotating, so a
change in the machine's load hits them alike): TicketOpened events go to each runtime's real event
dispatcher as the consumer hands a fetch over, `prepare_opened` on each batch of 32 then each record
alone (decision 0036), then 1.5 s for the round's background work to finish. Measured: this process's CPU
time per report (`time.process_time`, the encoder's thread and the runtime's background work included:
acknowledgements' deliveries, each a webhook POST to a contact center that a child process plays, the
outbox relay, and the idle polls of all four runtimes; not PostgreSQL's own CPU, which runs in its server
processes). Derived: reports/s one core sustains, and the
cores the notifier alone needs for 50 reports/s.

The quality figures are the ones on record in docs/notifier.md (not measured by this run: the quality
benchmark takes about an hour per encoder), labelled with their dates. `python -m bench.notifier_frontier
[--quick]`.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.notifier_batch import opened, texts
from bench.notifier_window import create_database, drop_database
from bench.report import table
from services.notifier.bootstrap import build_runtime, create_app
from services.notifier.consumers.tickets import prepare_opened
from services.notifier.settings import NotifierSettings
from shared import blas
from shared.bus.batching import BATCH_RECORDS
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.envelope import CloudEvent
from shared.settings import DEVELOPMENT_ADMIN_KEY

ENCODERS = ("mpnet", "minilm", "wordllama", "none")
TARGET_PER_SECOND = 50  # issue 23 aim 1
# Before a round, so that the other runtimes' background work (deliveries, the outbox relay) is done; after
# it, inside the measurement, so that the round's own is (the delivery worker polls every 0.5 s).
SETTLE_SECONDS = 1.5


@dataclass(frozen=True)
class Recorded:
    """Quality on record for an encoder (docs/notifier.md, *Quality and scale*), not measured here."""

    hadoop_without_time: str
    stackfaq_f1: str
    when: str


RECORDED = {
    "mpnet": Recorded("0.884", "0.868", "2026-12-07, batched (0036)"),
    "minilm": Recorded("0.853", "0.806", "2026-11-23"),
    "wordllama": Recorded("0.829", "0.529", "2026-11-23, another machine"),
    "none": Recorded("0.837", "0.502", "2026-11-23, another machine"),
}
# Knowledge's search quality (bench/knowledge_quality.py), which no notifier encoder changes: 0036's run.
MRR_AT_10 = "0.891 (2026-12-07, knowledge's; every row)"
FLOORS = {"hadoop": 0.87, "f1": 0.85}


# The contact center's webhook: a process of its own that answers every POST with 204, so that each
# acknowledgement is sent once, as deployed, and its receiving costs this process nothing. Without one an
# acknowledgement is unroutable and retried (up to 8 times), which no deployment does.
_SINK = """
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


@contextmanager
def contact_center() -> Iterator[str]:
    """The URL of a webhook sink in a child process, for as long as the block runs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = subprocess.Popen([sys.executable, "-c", _SINK, str(port)])
    try:
        for _ in range(100):
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        sink.terminate()
        sink.wait(timeout=10)


def postgres_template() -> str | None:
    url = os.environ.get("FIRSTCALL_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@asynccontextmanager
async def dispatcher_for(encoder: str, scratch: Path, center: str) -> AsyncIterator[Callable[[list[CloudEvent]], Any]]:
    """A started notifier with this encoder on a database of its own; yields how to feed it a fetch."""
    template = postgres_template()
    name = f"firstcall_frontier_{encoder}_{uuid.uuid4().hex[:6]}"
    url = await create_database(template, name) if template else f"sqlite+aiosqlite:///{scratch / f'{encoder}.db'}"
    settings = NotifierSettings(
        environment="test",
        data_dir=scratch / encoder,
        database_url=url,
        log_level="WARNING",
        log_format="text",
        detection_encoder=encoder,
        webhook_allow_http=True,
    )
    runtime = build_runtime(settings, bus=InMemoryBus(physical_topics(settings)))
    await runtime.start()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {DEVELOPMENT_ADMIN_KEY}"},
    ) as client:
        created = await client.post(
            "/v1/subscriptions", json={"url": center, "event_types": ["customer.message"], "secret": "s" * 32}
        )
        created.raise_for_status()
    dispatcher = runtime.consumers[0].dispatcher

    async def feed(events: list[CloudEvent]) -> None:
        for start in range(0, len(events), BATCH_RECORDS):
            records = events[start : start + BATCH_RECORDS]
            await prepare_opened(records, settings=settings)
            for event in records:
                await dispatcher(event)

    try:
        yield feed
    finally:
        await runtime.stop()
        if template:
            await drop_database(template, name)


async def measure(quick: bool) -> str:
    warm = 64 if quick else 480  # reports each notifier holds before the rounds: a window with clusters
    per_round = 32 if quick else 96
    rounds = 2 if quick else 4
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="firstcall-frontier-") as scratch, contact_center() as center:
        async with AsyncExitStack() as stack:
            feeds = {
                encoder: await stack.enter_async_context(dispatcher_for(encoder, Path(scratch), center))
                for encoder in ENCODERS
            }
            for kind in ("short", "long"):
                pool = texts(kind)
                rng = random.Random(23)
                # Every encoder gets the same reports, in the same order: the warm-up, then each round's.
                warm_texts, pool = pool[:warm], pool[warm:]
                for encoder in ENCODERS:
                    await feeds[encoder]([opened(*text, random.Random(rng.random())) for text in warm_texts])
                cpu: dict[str, list[float]] = {encoder: [] for encoder in ENCODERS}
                for round_ in range(rounds):
                    chunk, pool = pool[:per_round], pool[per_round:]
                    seed = rng.random()
                    order = ENCODERS[round_ % len(ENCODERS) :] + ENCODERS[: round_ % len(ENCODERS)]
                    for encoder in order:
                        events = [opened(*text, random.Random(f"{seed}{i}")) for i, text in enumerate(chunk)]
                        await asyncio.sleep(SETTLE_SECONDS)  # the others' deliveries and relays done first
                        started = time.process_time()
                        await feeds[encoder](events)
                        await asyncio.sleep(SETTLE_SECONDS)  # its own acknowledgements delivered, in its time
                        cpu[encoder].append((time.process_time() - started) / per_round * 1000)
                for encoder in ENCODERS:
                    median = statistics.median(cpu[encoder])
                    recorded = RECORDED[encoder]
                    holds = (
                        float(recorded.hadoop_without_time) >= FLOORS["hadoop"]
                        and float(recorded.stackfaq_f1) >= FLOORS["f1"]
                    )
                    rows.append(
                        [
                            kind,
                            encoder,
                            f"{median:.1f}",
                            " / ".join(f"{value:.1f}" for value in cpu[encoder]),
                            f"{1000 / median:.1f}",
                            f"{TARGET_PER_SECOND * median / 1000:.2f}",
                            recorded.hadoop_without_time,
                            recorded.stackfaq_f1,
                            "yes" if holds else "no",
                            recorded.when,
                        ]
                    )
    header = [
        "texts",
        "encoder",
        "CPU ms/report (median)",
        "each round",
        "reports/s on one core",
        f"cores for {TARGET_PER_SECOND}/s",
        "recorded: Hadoop recall@10 without time",
        "recorded: StackFAQ F1",
        "floors (0.87, 0.85) held",
        "recorded on",
    ]
    database = "PostgreSQL (FIRSTCALL_DATABASE_URL)" if postgres_template() else "SQLite in-process"
    notes = (
        f"\n{rounds} rounds of {per_round} reports per encoder and kind of text, batches of {BATCH_RECORDS}, "
        f"after {warm} reports of the kind; the notifier on {database}; one BLAS thread (shared/blas.py). CPU is "
        "this process's (time.process_time), not the database server's. The quality columns are the figures on "
        "record in docs/notifier.md, NOT measured by this run; StackFAQ MRR@10 is knowledge's search, "
        f"{MRR_AT_10}, whatever the notifier's encoder.\n"
    )
    return table(header, rows) + notes


def run(quick: bool) -> str:
    blas.use_one_thread()
    return asyncio.run(measure(quick))


if __name__ == "__main__":
    print(run("--quick" in sys.argv[1:]))
