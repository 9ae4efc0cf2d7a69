"""Duplicate-detection quality of the notifier, measured through its own interfaces on real data.

- **GitBugs / Hadoop** (vendored in bench/data/gitbugs_dups, CC BY 4.0): 2,503 bug reports, 129 of them with
  a labelled duplicate. Every report goes through the notifier's consumer as a TicketOpened from its own
  customer, opened when the issue was created in Jira (2020-2024; the window is set to 10 years so that it
  holds them all); for each labelled report, `GET /v1/tickets/{id}/similar?k=10` ranks the other reports
  (the shipped order mixes the words, the meaning and the closeness in time; the row "ordered without time"
  is the text alone, `detection_time_share` 0). recall@k = share of labelled reports with a true duplicate
  in the top k. Reference: TF-IDF cosine
  (scikit-learn, sub-linear tf, English stop words) over the same texts, computed in the same run.
- **StackFAQ** (read from ../shared/evaldata/stackfaq, never copied here): 625 paraphrases of 125 threads,
  each sent as a report from a different customer in a shuffled order; the clusters the notifier forms
  (`problem_id` of `GET /v1/reports/{id}`) are scored with pairwise precision, recall and F1 against the
  threads. The threshold is chosen by 5-fold cross-validation over threads (bench/notifier_pairs.py): the
  cross-validated F1 is the figure to quote; the F1 at the shipped default is shown beside it.

Reports are sent in chunks, and between chunks the index maintenance does what its loop would have done
by then (learning the embedding buckets as the window grows), so detection runs on the index a live
notifier would have.

    python -m bench.notifier_quality [--quick]   # --quick: the default encoder, fewer reports, one threshold
    python -m bench.notifier_quality --tune      # also the blend weights: how the defaults were chosen
    python -m bench.notifier_quality --encoders mpnet,minilm   # only these encoders (the first is --quick's)
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.notifier_pairs import Pairs
from bench.report import table
from services.notifier.bootstrap import build_runtime, create_app
from services.notifier.detection.service import TUNED
from services.notifier.settings import NotifierSettings
from shared import blas
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.catalogue import TicketOpened
from shared.runtime import ServiceRuntime
from shared.settings import DEVELOPMENT_ADMIN_KEY

ROOT = Path(__file__).resolve().parents[1]
EVALDATA = Path(os.environ.get("FIRSTCALL_EVALDATA", ROOT.parent / "shared" / "evaldata"))
# Vendored (CC BY 4.0, see its SOURCE.txt); the shared copy serves a checkout without it.
GITBUGS = next(
    (p for p in (ROOT / "bench" / "data" / "gitbugs_dups", EVALDATA / "gitbugs_dups") if p.exists()),
    ROOT / "bench" / "data" / "gitbugs_dups",
)
KS = (1, 5, 10)
CHUNK = 250  # reports sent between two runs of the index maintenance
ENCODERS = ("minilm", "mpnet", "wordllama", "none")
THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9)


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
async def notifier(**overrides: Any) -> AsyncIterator[tuple[InMemoryBus, httpx.AsyncClient, ServiceRuntime]]:
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
            yield bus, client, runtime
        finally:
            await client.aclose()
            await runtime.stop()


async def send(bus: InMemoryBus, runtime: ServiceRuntime, events: list[TicketOpened]) -> float:
    """Publish reports as the router would, in chunks with the index maintenance between them; returns
    seconds until the notifier handled them all (maintenance included)."""
    settings = runtime.settings
    maintenance = runtime.extensions["index_maintenance"]
    started = time.perf_counter()
    for start in range(0, len(events), CHUNK):
        for event in events[start : start + CHUNK]:
            await bus.publish(settings.topic(event.topic.name), [event.to_cloudevent()])
        await bus.wait_idle(timeout=3600)
        await maintenance.settle()
    return time.perf_counter() - started


def ticket(subject: str, description: str, opened_at: datetime, rng: random.Random) -> TicketOpened:
    """A report from a new customer; ids drawn from `rng`, so each run spreads reports over the same
    partitions of the bus (the order in which they are handled still varies a little between runs)."""
    return TicketOpened(
        ticket_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        customer_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        channel="web",
        subject=(" ".join(subject.split()) or "(no subject)")[:300],
        description=description[:20_000],
        priority="normal",
        opened_at=opened_at,
    )


def hadoop_sample(quick: bool) -> tuple[dict[str, tuple[str, str, datetime]], dict[str, set[str]]]:
    """The Hadoop reports (quick: the labelled ones and 600 others) and the labelled duplicates."""
    reports, duplicates = hadoop()
    if quick:
        rng = random.Random(7)
        others = [issue for issue in reports if issue not in duplicates]
        keep = set(duplicates) | set(rng.sample(others, 600))
        reports = {issue: value for issue, value in reports.items() if issue in keep}
    return reports, duplicates


async def recall_on_hadoop(quick: bool, **overrides: Any) -> tuple[dict[int, float], float, int]:
    """recall@k through GET /v1/tickets/{id}/similar; also the ingest rate (reports per second)."""
    reports, duplicates = hadoop_sample(quick)
    rng = random.Random(1)
    events = {issue: ticket(summary, text, created, rng) for issue, (summary, text, created) in reports.items()}
    ordered = sorted(events.items(), key=lambda item: item[1].opened_at)
    by_ticket = {event.ticket_id: issue for issue, event in ordered}
    hits = dict.fromkeys(KS, 0)
    async with notifier(duplicate_window_days=3650, **overrides) as (bus, client, runtime):
        seconds = await send(bus, runtime, [event for _, event in ordered])
        for issue, truth in duplicates.items():
            response = await client.get(f"/v1/tickets/{events[issue].ticket_id}/similar", params={"k": max(KS)})
            ranked = [by_ticket[uuid.UUID(item["ticket_id"])] for item in response.json()["items"]]
            for k in KS:
                hits[k] += bool(truth & set(ranked[:k]))
    return {k: hits[k] / len(duplicates) for k in KS}, len(ordered) / seconds, len(ordered)


def tfidf_reference(quick: bool) -> dict[int, float]:
    """The reference point: TF-IDF cosine over summary + description, ranking every other report."""
    reports, duplicates = hadoop_sample(quick)
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


async def clusters_on_stackfaq(**overrides: Any) -> list[str]:
    """The cluster of each paraphrase (in stackfaq() order) after all were sent in a shuffled order."""
    items = list(enumerate(stackfaq()))
    random.Random(0).shuffle(items)
    start = datetime.now(UTC) - timedelta(days=1)
    rng = random.Random(1)
    events = {i: ticket(text, "", start + timedelta(seconds=30 * n), rng) for n, (i, (_, text)) in enumerate(items)}
    async with notifier(**overrides) as (bus, client, runtime):
        await send(bus, runtime, list(events.values()))
        found = {}
        for i, event in events.items():
            problem = (await client.get(f"/v1/reports/{event.ticket_id}")).json()["problem_id"]
            found[i] = problem or f"alone-{event.ticket_id}"
    return [found[i] for i in range(len(found))]


@dataclass(frozen=True)
class Variant:
    encoder: str
    weight: float
    default_threshold: float

    @property
    def label(self) -> str:
        return "lexical only" if self.encoder == "none" else f"{self.encoder}, meaning weight {self.weight:.2f}"


def variants(tune: bool, quick: bool, encoders: tuple[str, ...] = ENCODERS) -> list[Variant]:
    """The shipped default of each encoder; with --tune, every weight of the grid as well."""
    encoders = encoders[:1] if quick else encoders
    found = [Variant(e, TUNED[e].meaning_weight, TUNED[e].threshold) for e in encoders]
    if tune:
        found += [
            Variant(e, w, TUNED[e].threshold)
            for e in encoders
            if e != "none"
            for w in WEIGHTS
            if w != TUNED[e].meaning_weight
        ]
    return found


async def measure(quick: bool, tune: bool, encoders: tuple[str, ...] = ENCODERS) -> str:
    blas.use_one_thread()  # as a served notifier does (shared/blas.py): no BLAS thread spinning beside it
    pairs = Pairs([thread for thread, _ in stackfaq()])
    recall_rows: list[list[str]] = []
    cluster_rows: list[list[str]] = []
    runs_by_encoder: dict[str, dict[tuple[float, float], list[str]]] = defaultdict(dict)
    rate = 0.0
    for variant in variants(tune, quick, encoders):
        settings = {"detection_encoder": variant.encoder, "detection_meaning_weight": variant.weight}
        recall, variant_rate, count = await recall_on_hadoop(quick, **settings)
        rate = rate or variant_rate
        recall_rows.append([variant.label, f"{count}", *(f"{recall[k]:.3f}" for k in KS)])
        if variant.weight == TUNED[variant.encoder].meaning_weight:
            # What the closeness in time adds to `similar`'s order (the clusters do not see time).
            untimed, _, _ = await recall_on_hadoop(quick, detection_time_share=0, **settings)
            recall_rows.append(
                [f"{variant.label}, ordered without time", f"{count}", *(f"{untimed[k]:.3f}" for k in KS)]
            )
        thresholds = (variant.default_threshold,) if quick else THRESHOLDS
        runs = {t: await clusters_on_stackfaq(similarity_threshold=t, **settings) for t in thresholds}
        runs_by_encoder[variant.encoder].update({(variant.weight, t): found for t, found in runs.items()})
        default = pairs.score(runs[variant.default_threshold])
        validated = pairs.cross_validate(runs)
        cluster_rows.append(
            [
                variant.label,
                f"{validated.score.precision:.3f} / {validated.score.recall:.3f} / {validated.score.f1:.3f}",
                ", ".join(f"{t:.2f}" for t in validated.chosen),
                f"{variant.default_threshold:.2f}",
                f"{default.precision:.3f} / {default.recall:.3f} / {default.f1:.3f}",
            ]
        )
    reference = tfidf_reference(quick)
    recall_rows.append(["TF-IDF cosine reference", recall_rows[0][1], *(f"{reference[k]:.3f}" for k in KS)])
    joint_rows = []
    if tune:
        for encoder, encoder_runs in runs_by_encoder.items():
            joint = pairs.cross_validate(encoder_runs)
            chosen = ", ".join(f"{w:.1f}@{t:.2f}" for w, t in joint.chosen)
            joint_rows.append([encoder, f"{joint.score.f1:.3f}", chosen])
    return report(quick, rate, recall_rows, cluster_rows, joint_rows)


def report(
    quick: bool, rate: float, recall_rows: list[list[str]], cluster_rows: list[list[str]], joint_rows: list[list[str]]
) -> str:
    lines = [
        "## notifier_quality: duplicate detection on real reports",
        "",
        "GitBugs/Hadoop, recall@k of a labelled duplicate among the other reports"
        + (" (quick: the 129 labelled reports + 600 others)" if quick else ""),
        "",
        table(["ranker", "reports", "recall@1", "recall@5", "recall@10"], recall_rows),
        "",
        f"Ingest through the consumer (encode, index, cluster, problems, maintenance) on SQLite: {rate:.0f} reports/s.",
        "",
        "StackFAQ, clusters formed from 625 paraphrases of 125 threads (each from another customer); "
        + ("at the default threshold only" if quick else "threshold chosen by 5-fold cross-validation over threads"),
        "",
        "The shipped defaults (meaning weight, threshold) were chosen by that cross-validation (`--tune`), never on "
        "these figures. One arrival order is measured: replaying the clustering rule over other orders "
        "moves F1 by about ±0.02 (docs/decisions/0016-notifier-online-clustering.md).",
        "",
        table(
            [
                "detector",
                "cross-validated P / R / F1",
                "threshold chosen per fold",
                "default",
                "P / R / F1 at the default",
            ],
            cluster_rows,
        ),
        "",
    ]
    if joint_rows:
        lines += [
            "Weight and threshold chosen together by the same cross-validation",
            "",
            table(["encoder", "cross-validated F1", "weight@threshold chosen per fold"], joint_rows),
            "",
        ]
    return "\n".join(lines)


def run(quick: bool, tune: bool = False, encoders: tuple[str, ...] = ENCODERS) -> str:
    """The Markdown section of this benchmark."""
    return asyncio.run(measure(quick, tune, encoders))


if __name__ == "__main__":
    chosen = sys.argv[sys.argv.index("--encoders") + 1].split(",") if "--encoders" in sys.argv else ENCODERS
    print(run(quick="--quick" in sys.argv, tune="--tune" in sys.argv, encoders=tuple(chosen)))
