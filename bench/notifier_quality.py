"""Duplicate-detection quality of the notifier, measured through its own interfaces on real data.

- **GitBugs / Hadoop** (vendored in bench/data/gitbugs_dups, CC BY 4.0): 2,503 bug reports, 129 of them with
  a labelled duplicate. Every report goes through the notifier's consumer as a TicketOpened from its own
  customer; for each labelled report, `GET /v1/tickets/{id}/similar?k=10` ranks the other reports.
  recall@k = share of labelled reports with a true duplicate in the top k. Reference: TF-IDF cosine
  (scikit-learn, sub-linear tf, English stop words) over the same texts, computed in the same run.
- **StackFAQ** (read from ../shared/evaldata/stackfaq, never copied here): 625 paraphrases of 125 threads,
  each sent as a report from a different customer in a shuffled order; the clusters the notifier forms
  (`problem_id` of `GET /v1/reports/{id}`) are scored with pairwise precision, recall and F1 against the
  threads.

    python -m bench.notifier_quality [--quick]
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.report import table
from services.notifier.bootstrap import build_runtime, create_app
from services.notifier.settings import NotifierSettings
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.catalogue import TicketOpened
from shared.settings import DEVELOPMENT_ADMIN_KEY

ROOT = Path(__file__).resolve().parents[1]
EVALDATA = Path(os.environ.get("FIRSTCALL_EVALDATA", ROOT.parent / "shared" / "evaldata"))
# Vendored (CC BY 4.0, see its SOURCE.txt); the shared copy serves a checkout without it.
GITBUGS = next(
    (p for p in (ROOT / "bench" / "data" / "gitbugs_dups", EVALDATA / "gitbugs_dups") if p.exists()),
    ROOT / "bench" / "data" / "gitbugs_dups",
)
KS = (1, 5, 10)


def hadoop() -> tuple[dict[str, tuple[str, str, datetime]], dict[str, set[str]]]:
    """Reports by issue id (summary, description, created) and each labelled report's duplicates."""
    reports: dict[str, tuple[str, str, datetime]] = {}
    with (GITBUGS / "hadoop_bugs.csv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            created = datetime.strptime(row["Created"].strip(), "%d/%b/%y %H:%M").replace(tzinfo=UTC)
            reports[row["Issue id"].strip()] = (row["Summary"] or "", row["Description"] or "", created)
    duplicates: dict[str, set[str]] = defaultdict(set)
    with (GITBUGS / "hadoop_dup_map.csv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            issue = row["Issue id"].strip()
            for other in (o.strip() for o in row["Duplicate id"].split(",")):
                if other and other != issue and issue in reports and other in reports:
                    duplicates[issue].add(other)
                    duplicates[other].add(issue)
    return reports, duplicates


def stackfaq() -> list[tuple[int, str]]:
    """(thread id, paraphrase) for every paraphrase of the development split."""
    threads = json.loads((EVALDATA / "stackfaq" / "stackfaq-dev.json").read_text())["threads"]
    return [(thread["id"], text) for thread in threads for text in thread["paraphrases"]]


@asynccontextmanager
async def notifier(**overrides: Any) -> AsyncIterator[tuple[InMemoryBus, httpx.AsyncClient, NotifierSettings]]:
    """A notifier on SQLite and the in-memory bus, as `make run` runs it."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = NotifierSettings(
            environment="test", data_dir=Path(data_dir), log_level="WARNING", log_format="text", **overrides
        )
        bus = InMemoryBus(physical_topics(settings))
        runtime = build_runtime(settings, bus=bus)
        await runtime.start()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
            base_url="http://notifier",
            headers={"Authorization": f"Bearer {DEVELOPMENT_ADMIN_KEY}"},
            timeout=60,
        )
        try:
            yield bus, client, settings
        finally:
            await client.aclose()
            await runtime.stop()


async def send(bus: InMemoryBus, settings: NotifierSettings, events: list[TicketOpened]) -> float:
    """Publish reports as the router would; returns seconds until the notifier handled them all."""
    started = time.perf_counter()
    for event in events:
        await bus.publish(settings.topic(event.topic.name), [event.to_cloudevent()])
    await bus.wait_idle(timeout=3600)
    return time.perf_counter() - started


def ticket(subject: str, description: str, opened_at: datetime) -> TicketOpened:
    return TicketOpened(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        channel="web",
        subject=(" ".join(subject.split()) or "(no subject)")[:300],
        description=description[:20_000],
        priority="normal",
        opened_at=opened_at,
    )


async def recall_on_hadoop(quick: bool) -> tuple[dict[int, float], float, int]:
    """recall@k through GET /v1/tickets/{id}/similar; also the ingest rate (reports per second)."""
    reports, duplicates = hadoop()
    if quick:
        rng = random.Random(7)
        others = [issue for issue in reports if issue not in duplicates]
        keep = set(duplicates) | set(rng.sample(others, 600))
        reports = {issue: value for issue, value in reports.items() if issue in keep}
    events = {issue: ticket(summary, text, created) for issue, (summary, text, created) in reports.items()}
    ordered = sorted(events.items(), key=lambda item: item[1].opened_at)
    by_ticket = {event.ticket_id: issue for issue, event in ordered}
    hits = dict.fromkeys(KS, 0)
    async with notifier(duplicate_window_days=3650) as (bus, client, settings):
        seconds = await send(bus, settings, [event for _, event in ordered])
        for issue, truth in duplicates.items():
            response = await client.get(f"/v1/tickets/{events[issue].ticket_id}/similar", params={"k": max(KS)})
            ranked = [by_ticket[uuid.UUID(item["ticket_id"])] for item in response.json()["items"]]
            for k in KS:
                hits[k] += bool(truth & set(ranked[:k]))
    return {k: hits[k] / len(duplicates) for k in KS}, len(ordered) / seconds, len(ordered)


def tfidf_reference(quick: bool) -> dict[int, float]:
    """The reference point: TF-IDF cosine over summary + description, ranking every other report."""
    reports, duplicates = hadoop()
    if quick:
        rng = random.Random(7)
        others = [issue for issue in reports if issue not in duplicates]
        keep = set(duplicates) | set(rng.sample(others, 600))
        reports = {issue: value for issue, value in reports.items() if issue in keep}
    ids = list(reports)
    matrix = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
        [f"{summary}\n{text}" for summary, text, _ in reports.values()]
    )
    scores = (matrix @ matrix.T).toarray()
    position = {issue: i for i, issue in enumerate(ids)}
    hits = dict.fromkeys(KS, 0)
    for issue, truth in duplicates.items():
        row = scores[position[issue]].copy()
        row[position[issue]] = -1.0
        top = [ids[i] for i in np.argsort(-row)[: max(KS)]]
        for k in KS:
            hits[k] += bool(truth & set(top[:k]))
    return {k: hits[k] / len(duplicates) for k in KS}


async def clusters_on_stackfaq(threshold: float) -> tuple[float, float, float, int]:
    """Pairwise precision, recall, F1 of the notifier's clusters, and how many clusters it formed."""
    items = stackfaq()
    random.Random(0).shuffle(items)
    start = datetime.now(UTC) - timedelta(days=1)
    events = [ticket(text, "", start + timedelta(seconds=30 * i)) for i, (_, text) in enumerate(items)]
    async with notifier(similarity_threshold=threshold) as (bus, client, settings):
        await send(bus, settings, events)
        found = []
        for event in events:
            problem = (await client.get(f"/v1/reports/{event.ticket_id}")).json()["problem_id"]
            found.append(problem or f"alone-{event.ticket_id}")
    truth = [thread for thread, _ in items]
    both = same_found = same_truth = 0
    for i, j in combinations(range(len(items)), 2):
        in_found, in_truth = found[i] == found[j], truth[i] == truth[j]
        both += in_found and in_truth
        same_found += in_found
        same_truth += in_truth
    precision = both / same_found if same_found else 0.0
    recall = both / same_truth
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, len(set(found))


async def measure(quick: bool) -> str:
    ours, rate, count = await recall_on_hadoop(quick)
    reference = tfidf_reference(quick)
    recall_rows = [
        ["notifier (GET /v1/tickets/{id}/similar)", f"{count}", *(f"{ours[k]:.3f}" for k in KS)],
        ["TF-IDF cosine reference", f"{count}", *(f"{reference[k]:.3f}" for k in KS)],
    ]
    default = NotifierSettings.model_fields["similarity_threshold"].default
    thresholds = [default] if quick else sorted({0.25, 0.3, default, 0.4, 0.45, 0.5})
    cluster_rows = []
    for threshold in thresholds:
        precision, recall, f1, clusters = await clusters_on_stackfaq(threshold)
        label = f"{threshold:.2f}" + (" (default)" if threshold == default else "")
        cluster_rows.append([label, f"{clusters}", f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}"])
    return "\n".join(
        [
            "## notifier_quality: duplicate detection on real reports",
            "",
            "GitBugs/Hadoop, recall@k of a labelled duplicate among the other reports"
            + (" (quick: the 129 labelled reports + 600 others)" if quick else ""),
            "",
            table(["ranker", "reports", "recall@1", "recall@5", "recall@10"], recall_rows),
            "",
            f"Ingest through the consumer (index, cluster, problems) on SQLite: {rate:.0f} reports/s.",
            "",
            "StackFAQ, clusters formed from 625 paraphrases of 125 threads (each from another customer)",
            "",
            table(["threshold", "clusters", "pairwise precision", "pairwise recall", "pairwise F1"], cluster_rows),
            "",
        ]
    )


def run(quick: bool) -> str:
    """The Markdown section of this benchmark."""
    return asyncio.run(measure(quick))


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
