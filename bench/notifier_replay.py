"""A fast replay of the notifier's duplicate detection on the quality benchmarks' data, for trying ideas.

bench/notifier_quality.py measures the notifier itself (consumer, indexes, database) and gives the figures
of record, at minutes per setting. This replays, in seconds per setting:

- the notifier's score, exhaustively: its own vectors (text.py, embedding.py) and `similarity.pairwise`,
  with the term rarities of the whole set (the service weighs each report with the rarities known when it
  arrived, and reads candidates from two indexes rather than every report);
- Hadoop: recall@k of that ranking among all other reports (or of `similar`'s order over each report's
  candidates, for the variants that rank apart from the score, as the service does since issue 5);
- StackFAQ: the same ranking's recall of a paraphrase (the cost of a ranking change there);
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
  joining the nearest neighbour's cluster, and merging two clusters whose average link reaches it;
- a periodic batch re-clustering, as the index upkeep could run it (notifier_cluster_replay.py): every
  25 / 50 / 100 reports and after the last one, the reports no problem holds regrouped by average link
  with the problems as seeds they may join (optionally merging problems too, or announcing problems
  from the regrouping only, so a cluster can be regrouped until then), its threshold cross-validated
  together with the online one;
- `similar` ordered apart from the score: the words and the meaning standardised over the candidates and
  mixed (ranking.py, shipped), or reciprocal rank fusion.

    python -m bench.notifier_replay [--orders N] [--only TEXT]   # MiniLM and WordLlama must be installed
                                                                # --only: the variants whose label has TEXT
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

from bench.notifier_cluster_replay import Regrouping, replay
from bench.notifier_pairs import Pairs
from bench.notifier_quality import KS, hadoop, stackfaq, tfidf_reference
from bench.report import table
from services.notifier.detection import ranking
from services.notifier.detection.embedding import MeaningEncoder, report_text
from services.notifier.detection.service import TUNED
from services.notifier.detection.similarity import ReportVector, pairwise
from services.notifier.detection.text import spelling_vector, term_counts, weigh
from services.notifier.settings import NotifierSettings

Matrix = NDArray[np.float64]
ORDERS = 5
THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(21))
CENTRE_REPORTS = 100
CANDIDATES = int(NotifierSettings.model_fields["detection_candidates"].default)
REGROUP_THRESHOLDS = (0.45, 0.475, 0.5, 0.525, 0.55)


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


@dataclass(frozen=True)
class HadoopSet:
    """The Hadoop reports as the replays read them: (subject, description) per report, oldest first by
    `by_time`, and the labelled duplicates by report id."""

    ids: list[str]
    texts: list[tuple[str, str]]
    by_time: list[int]
    duplicates: dict[str, set[str]]


def hadoop_set() -> HadoopSet:
    reports, duplicates = hadoop()
    ids = list(reports)
    texts = [(" ".join(s.split())[:300] or "(no subject)", d[:20_000]) for s, d, _ in reports.values()]
    by_time = sorted(range(len(ids)), key=lambda i: reports[ids[i]][2])
    return HadoopSet(ids, texts, by_time, duplicates)


def stackfaq_mates(faq: Sequence[tuple[int, str]]) -> dict[str, set[str]]:
    """Each StackFAQ paraphrase (by position) and the other paraphrases of its thread (its number)."""
    return {
        str(i): {str(j) for j, (other, _) in enumerate(faq) if other == thread and j != i}
        for i, (thread, _) in enumerate(faq)
    }


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


def cross_validated(
    pairs: Pairs, size: int, variant: Variant, scores: Callable[[Sequence[int]], Matrix], orders: int
) -> str:
    """Mean and range of the cross-validated P / R / F1 over `orders` arrival orders."""
    results = []
    for seed in range(orders):
        order = list(range(size))
        random.Random(seed).shuffle(order)
        matrix = scores(order)
        runs = {setting: variant.cluster(matrix, setting, order) for setting in variant.settings()}
        results.append(pairs.cross_validate(runs).score)
    f1 = [r.f1 for r in results]
    precision, recall_ = np.mean([r.precision for r in results]), np.mean([r.recall for r in results])
    return f"{precision:.3f} / {recall_:.3f} / {np.mean(f1):.3f} ({min(f1):.3f}-{max(f1):.3f})"


@dataclass(frozen=True)
class Fusion:
    """`similar` ordered by the words and the meaning apart rather than by the score, as the service
    does: over each report's candidates (its CANDIDATES best by words and by meaning, as the two indexes
    give them), either "standardised" (ranking.duplicate_order, shipped) or reciprocal rank fusion
    ("rrf": 1 / (k + rank) summed over both rankings)."""

    kind: str
    k: int = 60

    def rank(self, words: Matrix, meaning: Matrix, blended: Matrix) -> Matrix:
        """A matrix whose rows order each report's candidates as `similar` does (higher first)."""
        return candidates_ordered(
            blended, (words, meaning), lambda report, c: self._order(words[report, c], meaning[report, c])
        )

    def _order(self, words: NDArray[np.float64], meaning: NDArray[np.float64]) -> list[int]:
        if self.kind == "standardised":
            return ranking.duplicate_order(words, meaning)
        fused = 1 / (self.k + _ranks(words)) + 1 / (self.k + _ranks(meaning))
        return [int(i) for i in np.argsort(-fused, kind="stable")]


def candidates_ordered(
    blended: Matrix, candidates_from: Sequence[Matrix], order: Callable[[int, NDArray[np.int64]], Sequence[int]]
) -> Matrix:
    """A matrix whose rows order each report's candidates (`candidates_of` the parts `candidates_from`, given
    in the `blended` score's order, as the service gives them) by `order` (report, candidates -> positions,
    best first): higher first, -inf for the reports that are not candidates."""
    found = np.full(blended.shape, -np.inf)
    for report in range(len(blended)):
        candidates = candidates_of(report, *candidates_from)
        candidates = candidates[np.argsort(-blended[report, candidates], kind="stable")]
        ranked = order(report, candidates)
        found[report, candidates[ranked]] = np.arange(len(ranked), 0, -1)
    return found


def candidates_of(report: int, *parts: Matrix) -> NDArray[np.int64]:
    """The report's candidates: the best CANDIDATES of each part (as each index gives them), together."""
    best = [np.argsort(-np.where(np.arange(len(part)) == report, -np.inf, part[report]))[:CANDIDATES] for part in parts]
    return functools.reduce(np.union1d, best)


def _ranks(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    ranks = np.empty(len(scores))
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return ranks


@dataclass(frozen=True)
class Variant:
    """A score (meaning from `encoders`, averaged when two, blended at `weight`) and a clustering rule;
    with `regroup_every`, a periodic batch re-clustering too (its threshold cross-validated with the
    online one); with `fusion`, `similar`'s ranking fuses the words' and the meaning's."""

    label: str
    encoders: tuple[str, ...] = ("minilm",)  # none: words only
    weight: float = TUNED["minilm"].meaning_weight
    meaning: str = "plain"  # or "centred" (around the first reports' mean), "rescaled" (from 0.3)
    csls: bool = False
    link: str = "average"
    regroup_every: int = 0
    merge_problems: bool = False
    deferred: bool = False
    fusion: Fusion | None = None

    def scores(self, words: Matrix, rows: dict[str, NDArray[np.float32]], order: Sequence[int]) -> Matrix:
        if not self.encoders:
            return words
        meaning = np.mean([self._cosines(rows[encoder], order) for encoder in self.encoders], axis=0)
        blended = blend(meaning, words, self.weight)
        return csls_past(blended, order) if self.csls else blended

    def ranking(self, words: Matrix, rows: dict[str, NDArray[np.float32]], order: Sequence[int]) -> Matrix:
        """What `similar` ranks by (higher first)."""
        blended = self.scores(words, rows, order)
        if self.fusion is None:
            return blended
        return self.fusion.rank(words, np.mean([self._cosines(rows[e], order) for e in self.encoders], axis=0), blended)

    def settings(self) -> list[tuple[float, float | None]]:
        """The (threshold, regrouping threshold) pairs cross-validation chooses from."""
        if not self.regroup_every:
            return [(t, None) for t in THRESHOLDS]
        return [(t, b) for t in THRESHOLDS if 0.45 <= t <= 0.7 for b in REGROUP_THRESHOLDS if b <= t]

    def cluster(self, scores: Matrix, setting: tuple[float, float | None], order: Sequence[int]) -> list[str]:
        threshold, regrouping = setting
        regroup = (
            None
            if regrouping is None
            else Regrouping(self.regroup_every, regrouping, self.merge_problems, self.deferred)
        )
        return replay(scores, threshold, order, link=self.link, regroup=regroup)

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
    *(Variant(f"minilm, reports outside problems regrouped every {n}", regroup_every=n) for n in (100, 50, 25)),
    Variant("minilm, regrouped every 25, problems merged too", regroup_every=25, merge_problems=True),
    Variant("minilm, regrouped every 25, problems announced by it only", regroup_every=25, deferred=True),
    # Nothing announced before one regrouping after the last report: offline average link, a ceiling.
    Variant("minilm, offline: every report regrouped at once", regroup_every=10**9, deferred=True),
    Variant("minilm, similar: words and meaning standardised and mixed (shipped)", fusion=Fusion("standardised")),
    Variant("minilm, similar: reciprocal rank fusion (k 60)", fusion=Fusion("rrf")),
    Variant(
        "wordllama, similar: standardised and mixed",
        encoders=("wordllama",),
        weight=TUNED["wordllama"].meaning_weight,
        fusion=Fusion("standardised"),
    ),
)


def main(orders: int) -> str:
    reports = hadoop_set()
    ids, texts, by_time, duplicates = reports.ids, reports.texts, reports.by_time, reports.duplicates
    faq = stackfaq()
    faq_texts = [(text, "") for _, text in faq]
    pairs = Pairs([thread for thread, _ in faq])
    words, faq_words = lexical(texts), lexical(faq_texts)
    encoders = ("minilm", "wordllama")
    rows, faq_rows = {e: units(texts, e) for e in encoders}, {e: units(faq_texts, e) for e in encoders}
    faq_ids = [str(i) for i in range(len(faq))]
    mates = stackfaq_mates(faq)
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    table_rows = []
    for variant in (v for v in VARIANTS if only in v.label):
        found = recall(variant.ranking(words, rows, by_time), ids, duplicates)
        paraphrases = recall(variant.ranking(faq_words, faq_rows, range(len(faq))), faq_ids, mates)
        clusters = (
            "- (clusters on the blend)"
            if variant.fusion
            else cross_validated(
                pairs, len(faq), variant, functools.partial(variant.scores, faq_words, faq_rows), orders
            )
        )
        table_rows.append(
            [variant.label, *(f"{r:.3f}" for r in found), f"{paraphrases[0]:.3f} / {paraphrases[-1]:.3f}", clusters]
        )
        print(f"  {variant.label}: done", file=sys.stderr, flush=True)
    reference = [f"{r:.3f}" for r in tfidf_reference(quick=False).values()]
    table_rows.append(["TF-IDF cosine reference", *reference, "", ""])
    return "\n".join(
        [
            "## notifier_replay: the notifier's score replayed exhaustively, and its clustering rule",
            "",
            f"Hadoop: recall@1/5/10 among all {len(ids)} reports, ranked by the score unless the variant says "
            "otherwise. StackFAQ: a paraphrase of the same thread among the first 1 / 10 the same ranking "
            f"gives; clusters: cross-validated P / R / F1, mean (and range of F1) over {orders} arrival orders.",
            "",
            table(
                [
                    "score or rule",
                    "recall@1",
                    "recall@5",
                    "recall@10",
                    "StackFAQ similar @1 / @10",
                    "StackFAQ clusters P / R / F1 (F1 range)",
                ],
                table_rows,
            ),
            "",
        ]
    )


if __name__ == "__main__":
    count = int(sys.argv[sys.argv.index("--orders") + 1]) if "--orders" in sys.argv else ORDERS
    print(main(count))
