"""A fast replay of the notifier's duplicate detection on the quality benchmarks' data, for trying ideas.

bench/notifier_quality.py measures the notifier itself (consumer, indexes, database) and gives the figures
of record, at minutes per setting. This replays, in seconds per setting:

- the notifier's score, exhaustively: its own vectors (text.py, embedding.py) and `similarity.pairwise`,
  with the term rarities of the whole set (the service weighs each report with the rarities known when it
  arrived, and reads candidates from two indexes rather than every report);
- Hadoop: recall@k of that ranking among all other reports;
- StackFAQ: the clustering rule of problems/clustering.py replayed report by report, for ORDERS arrival
  orders: pairwise P / R / F1 with the threshold chosen by 5-fold cross-validation over threads
  (notifier_pairs.py), as the mean and the range over the orders (the service bench measures one order).

Besides the shipped score it replays the variants tried for issue 5 and left out of the notifier, so the
numbers in docs/notifier.md ("What did not help") can be reproduced:

- other meaning weights; the meaning cosine taken around the window's mean vector ("all-but-the-top",
  the mean of the first 100 reports); a cosine rescaled from 0.3 (`(cos - 0.3) / 0.7`);
- CSLS (each score less the mean of both reports' 10 best scores), with each report's density known from
  the reports before it only: with the whole set's densities it looks far better, but that needs the
  future;
- MiniLM and WordLlama cosines averaged;
- other clustering rules: complete linkage (join when every recent member is above the threshold),
  joining the nearest neighbour's cluster, and merging two clusters whose average link reaches it.

    python -m bench.notifier_replay [--orders N]   # MiniLM and WordLlama must be installed
"""

from __future__ import annotations

import functools
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bench.notifier_pairs import Pairs
from bench.notifier_quality import KS, hadoop, stackfaq, tfidf_reference
from bench.report import table
from services.notifier.detection.embedding import MeaningEncoder, report_text
from services.notifier.detection.service import TUNED
from services.notifier.detection.similarity import ReportVector, pairwise
from services.notifier.detection.text import spelling_vector, term_counts, weigh
from services.notifier.problems.clustering import CLUSTERS_COMPARED, LINKAGE_MEMBERS

Matrix = NDArray[np.float64]
ORDERS = 5
THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(21))
CENTRE_REPORTS = 100


def lexical(texts: Sequence[tuple[str, str]]) -> Matrix:
    """The lexical part of the notifier's score for every pair, with the whole set's term rarities."""
    counts = [term_counts(subject, description) for subject, description in texts]
    documents: Counter[int] = Counter()
    for found in counts:
        documents.update(found.keys())
    idf = {t: math.log((len(texts) + 1) / (n + 1)) + 1.0 for t, n in documents.items()}
    vectors = [
        ReportVector(weigh(found, idf), spelling_vector(subject, description))
        for found, (subject, description) in zip(counts, texts, strict=True)
    ]
    return pairwise(vectors)


def units(texts: Sequence[tuple[str, str]], encoder: str) -> NDArray[np.float32]:
    named = MeaningEncoder.named(encoder)
    assert named is not None
    return named.encoder.encode([report_text(subject, description) for subject, description in texts])


def cosines(rows: NDArray[np.float32], centre: NDArray[np.float32] | None = None) -> Matrix:
    if centre is not None:
        rows = rows - centre
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(np.clip(rows @ rows.T, 0.0, 1.0), np.float64)


def blend(meaning: Matrix, lexical_part: Matrix, weight: float) -> Matrix:
    """The notifier's score (similarity.py): meaning lifts a pair, never sinks it below its words."""
    return np.maximum(weight * meaning + (1 - weight) * lexical_part, lexical_part)


def csls_past(scores: Matrix, order: Sequence[int], k: int = 10) -> Matrix:
    """Scores less the mean density of both reports, each density from the reports before it only."""
    position = np.empty(len(order), np.int64)
    position[list(order)] = np.arange(len(order))
    density = np.zeros(len(scores))
    for report in range(len(scores)):
        earlier = np.sort(scores[report, position < position[report]])[-k:]
        density[report] = earlier.mean() if len(earlier) else 0.0
    return np.asarray(scores - (density[:, None] + density[None, :]) / 2 + 0.3)


def recall(scores: Matrix, ids: Sequence[str], duplicates: dict[str, set[str]]) -> list[float]:
    position = {issue: i for i, issue in enumerate(ids)}
    hits = dict.fromkeys(KS, 0)
    for issue, truth in duplicates.items():
        row = scores[position[issue]].copy()
        row[position[issue]] = -np.inf
        top = [ids[i] for i in np.argsort(-row, kind="stable")[: max(KS)]]
        for k in KS:
            hits[k] += bool(truth & set(top[:k]))
    return [hits[k] / len(duplicates) for k in KS]


def replay(scores: Matrix, threshold: float, order: Sequence[int], *, link: str = "average") -> list[str]:
    """clustering.assign_cluster, report by report: join the cluster most like the report on average
    (`link`: or by its least similar member, or the nearest neighbour's), else start one with the
    unclustered neighbours above the threshold."""
    cluster: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    seen: list[int] = []
    for report in order:
        earlier = np.asarray(seen, np.int64)
        seen.append(report)
        row = scores[report, earlier]
        close = [int(earlier[i]) for i in np.argsort(-row, kind="stable") if row[i] >= threshold]
        if not close:
            continue
        nearest = list(dict.fromkeys(cluster[m] for m in close if m in cluster))[:CLUSTERS_COMPARED]
        if link == "nearest":
            affinity = {nearest[0]: 1.0} if nearest and close[0] in cluster else {}
        else:
            pick = np.min if link == "complete" else np.mean
            affinity = {c: float(pick(scores[report, members[c][-LINKAGE_MEMBERS:]])) for c in nearest}
        best = max(affinity, key=lambda c: affinity[c], default=None)
        target = best if best is not None and affinity[best] >= threshold else None
        strays = [m for m in close if m not in cluster]
        if target is None and not strays:
            continue
        if target is None:
            target = len(members)
            members[target] = []
        for m in [report, *strays]:
            cluster[m] = target
            members[target].append(m)
        if link == "merge":
            _merge_close_clusters(
                scores, threshold=threshold, target=target, nearest=nearest, cluster=cluster, members=members
            )
    return [str(cluster.get(i, f"alone-{i}")) for i in range(len(scores))]


def _merge_close_clusters(
    scores: Matrix,
    *,
    threshold: float,
    target: int,
    nearest: list[int],
    cluster: dict[int, int],
    members: dict[int, list[int]],
) -> None:
    for other in nearest:
        if other == target or not members[other]:
            continue
        mine, theirs = members[target][-LINKAGE_MEMBERS:], members[other][-LINKAGE_MEMBERS:]
        if scores[np.ix_(mine, theirs)].mean() >= threshold:
            for m in members[other]:
                cluster[m] = target
            members[target] += members[other]
            members[other] = []


def cross_validated(pairs: Pairs, size: int, scores: Callable[[Sequence[int]], Matrix], link: str, orders: int) -> str:
    """Mean and range of the cross-validated P / R / F1 over `orders` arrival orders."""
    results = []
    for seed in range(orders):
        order = list(range(size))
        random.Random(seed).shuffle(order)
        matrix = scores(order)
        runs = {t: replay(matrix, t, order, link=link) for t in THRESHOLDS}
        results.append(pairs.cross_validate(runs).score)
    f1 = [r.f1 for r in results]
    precision, recall_ = np.mean([r.precision for r in results]), np.mean([r.recall for r in results])
    return f"{precision:.3f} / {recall_:.3f} / {np.mean(f1):.3f} ({min(f1):.3f}-{max(f1):.3f})"


@dataclass(frozen=True)
class Variant:
    """A score (meaning from `encoders`, averaged when two, blended at `weight`) and a clustering rule."""

    label: str
    encoders: tuple[str, ...] = ("minilm",)  # none: words only
    weight: float = TUNED["minilm"].meaning_weight
    meaning: str = "plain"  # or "centred" (around the first reports' mean), "rescaled" (from 0.3)
    csls: bool = False
    link: str = "average"

    def scores(self, words: Matrix, rows: dict[str, NDArray[np.float32]], order: Sequence[int]) -> Matrix:
        if not self.encoders:
            return words
        meaning = np.mean([self._cosines(rows[encoder], order) for encoder in self.encoders], axis=0)
        blended = blend(meaning, words, self.weight)
        return csls_past(blended, order) if self.csls else blended

    def _cosines(self, rows: NDArray[np.float32], order: Sequence[int]) -> Matrix:
        if self.meaning == "centred":
            return cosines(rows, np.asarray(rows[list(order)[:CENTRE_REPORTS]].mean(axis=0), np.float32))
        found = cosines(rows)
        return np.clip((found - 0.3) / 0.7, 0.0, 1.0) if self.meaning == "rescaled" else found


VARIANTS = (
    Variant("lexical only", encoders=()),
    Variant("wordllama (shipped weight)", encoders=("wordllama",), weight=TUNED["wordllama"].meaning_weight),
    Variant("minilm (shipped weight)"),
    *(Variant(f"minilm, weight {w:.1f}", weight=w) for w in (0.5, 0.6, 0.7, 0.9)),
    Variant("minilm, around the window's mean", meaning="centred"),
    Variant("minilm, cosine rescaled from 0.3", meaning="rescaled"),
    Variant("minilm + wordllama cosines averaged", encoders=("minilm", "wordllama")),
    Variant("minilm, CSLS (densities from the past)", csls=True),
    Variant("minilm, complete linkage", link="complete"),
    Variant("minilm, nearest neighbour's cluster", link="nearest"),
    Variant("minilm, clusters merged on average link", link="merge"),
)


def main(orders: int) -> str:
    reports, duplicates = hadoop()
    ids = list(reports)
    texts = [(" ".join(s.split())[:300] or "(no subject)", d[:20_000]) for s, d, _ in reports.values()]
    by_time = sorted(range(len(ids)), key=lambda i: reports[ids[i]][2])
    faq = stackfaq()
    faq_texts = [(text, "") for _, text in faq]
    pairs = Pairs([thread for thread, _ in faq])
    words, faq_words = lexical(texts), lexical(faq_texts)
    encoders = ("minilm", "wordllama")
    rows, faq_rows = {e: units(texts, e) for e in encoders}, {e: units(faq_texts, e) for e in encoders}
    table_rows = []
    for variant in VARIANTS:
        found = recall(variant.scores(words, rows, by_time), ids, duplicates)
        clusters = cross_validated(
            pairs, len(faq), functools.partial(variant.scores, faq_words, faq_rows), variant.link, orders
        )
        table_rows.append([variant.label, *(f"{r:.3f}" for r in found), clusters])
        print(f"  {variant.label}: done", file=sys.stderr, flush=True)
    reference = [f"{r:.3f}" for r in tfidf_reference(quick=False).values()]
    table_rows.append(["TF-IDF cosine reference", *reference, ""])
    return "\n".join(
        [
            "## notifier_replay: the notifier's score replayed exhaustively, and its clustering rule",
            "",
            f"Hadoop: recall@1/5/10 among all {len(ids)} reports. StackFAQ: cross-validated P / R / F1, mean "
            f"(and range of F1) over {orders} arrival orders.",
            "",
            table(["score or rule", "recall@1", "recall@5", "recall@10", "StackFAQ P / R / F1 (F1 range)"], table_rows),
            "",
        ]
    )


if __name__ == "__main__":
    count = int(sys.argv[sys.argv.index("--orders") + 1]) if "--orders" in sys.argv else ORDERS
    print(main(count))
