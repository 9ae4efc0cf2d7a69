"""The words part of duplicate detection, replayed exhaustively on other representations (issue 5).

Each variant changes how a report becomes weighted terms (text.py does it one way), with the whole set's
term rarities, and is measured the way bench/notifier_replay.py measures the score:

- Hadoop recall@1/5/10 of the words alone (`words`), of the lexical part (words and n-grams, as the
  score uses it: `lexical`) among all other reports, and of `similar`'s order (the lexical part and the
  MiniLM meaning standardised over each report's candidates and mixed, ranking.py: `similar`);
- StackFAQ: a paraphrase among the first 1 / 10 of `similar`'s order (short texts must not lose).

The variants: BM25's saturation (k1, b) instead of the sub-linear term frequency, BM25's rarity, the
subject counted 1-4 times, the description cut at 500-4,000 characters or its start counted again, stack
frames as one `#class.method` term (shipped), numbers or dotted identifiers left out, the subject's word
bigrams, repeated log lines dropped. Then every combination of the subject's weight, the cut, the frames
and the saturation, chosen by 5-fold cross-validation over the labelled reports (a report and its
duplicates in one fold): choosing among many variants on 129 reports is what this guards against.

    python -m bench.notifier_words [--grid]   # MiniLM must be installed; --grid: the cross-validation too
"""

from __future__ import annotations

import itertools
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from bench.notifier_quality import KS, stackfaq
from bench.notifier_replay import Fusion, blend, cosines, hadoop_set, recall, stackfaq_mates, units
from bench.report import table
from services.notifier.detection import text
from services.notifier.detection.similarity import SPELLING_WEIGHT, WORD_WEIGHT, ReportVector, pairwise
from services.notifier.detection.text import SparseVector

Matrix = NDArray[np.float64]
FOLDS = 5
_PLAIN_FRAMES = re.compile(r"\bat(\s+(?:[\w$]+\.)+[\w$<>]+\s*\([^)\n]*\))")
_NUMBERS = re.compile(r"#[\d.:\-/tz]+")
_VERSION = re.compile(r"#\d+(?:\.\d+){1,3}")
_LOG_NOISE = re.compile(r"[\d:.,\-TZ \[\]]+")


@dataclass(frozen=True)
class Words:
    """One way of turning a report into weighted terms (the defaults are text.py's)."""

    label: str
    subject_boost: int = text.SUBJECT_BOOST
    max_chars: int = text.MAX_TEXT_CHARS
    frames: bool = True  # a frame as one `#class.method` term (text.py), or read as words
    numbers: bool = True
    compounds: bool = True
    bigrams: int = 0  # the subject's word bigrams, counted this many times
    head_chars: int = 0  # the description's start counted once more
    unique_lines: bool = False
    tf: str = "log"  # or "bm25"
    k1: float = 1.2
    b: float = 0.75
    idf: str = "smooth"  # or "bm25"

    def terms(self, content: str) -> list[str]:
        content = content[: self.max_chars]
        if self.unique_lines:
            content = _unique_lines(content)
        if not self.frames:  # without its "at" (a stop word), text.py reads a frame as words and identifiers
            content = _PLAIN_FRAMES.sub(r"\1", content)
        found = text.word_terms(content)
        if not self.numbers:
            found = [t for t in found if not t.isdigit() and not (_NUMBERS.fullmatch(t) and not _VERSION.fullmatch(t))]
        if not self.compounds:
            found = [t for t in found if not t.startswith("#")]
        return found

    def counts(self, subject: str, description: str) -> Counter[str]:
        found: Counter[str] = Counter()
        for term in self.terms(subject):
            found[term] += self.subject_boost
        if self.bigrams:
            stems = [text.stem(word) for word in text.content_words(subject)]
            for pair in itertools.pairwise(stems):
                found["_".join(pair)] += self.bigrams
        found.update(self.terms(description))
        if self.head_chars:
            found.update(self.terms(description[: self.head_chars]))
        return found

    def cosines(self, texts: Sequence[tuple[str, str]]) -> Matrix:
        counts = [self.counts(subject, description) for subject, description in texts]
        vocabulary: dict[str, int] = {}
        rows, columns, values = [], [], []
        for row, found in enumerate(counts):
            for term, n in found.items():
                rows.append(row)
                columns.append(vocabulary.setdefault(term, len(vocabulary)))
                values.append(n)
        tf = sparse.csr_matrix((values, (rows, columns)), shape=(len(texts), len(vocabulary)), dtype=np.float64)
        df, n_reports = np.asarray((tf > 0).sum(axis=0)).ravel(), len(texts)
        idf = (
            np.log((n_reports - df + 0.5) / (df + 0.5) + 1)
            if self.idf == "bm25"
            else np.log((n_reports + 1) / (df + 1)) + 1
        )
        weights = self._saturated(tf)
        matrix = sparse.csr_matrix((weights * idf[tf.indices], tf.indices, tf.indptr), shape=tf.shape)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        matrix = sparse.diags(1 / np.where(norms == 0, 1, norms)) @ matrix
        return np.asarray((matrix @ matrix.T).toarray())

    def _saturated(self, tf: sparse.csr_matrix) -> NDArray[np.float64]:
        counts = tf.data
        if self.tf == "bm25":
            lengths = np.asarray(tf.sum(axis=1)).ravel()
            own = np.repeat(lengths, np.diff(tf.indptr))
            return np.asarray(
                counts * (self.k1 + 1) / (counts + self.k1 * (1 - self.b + self.b * own / lengths.mean()))
            )
        return np.asarray(np.where(counts >= 1, 1 + np.log(np.maximum(counts, 1)), counts))


def _unique_lines(content: str) -> str:
    seen, kept = set(), []
    for line in content.splitlines():
        key = _LOG_NOISE.sub("", line)[:80]
        if not key or key not in seen:
            seen.add(key)
            kept.append(line)
    return "\n".join(kept)


SHIPPED = Words("shipped (text.py: frames as #class.method)")
VARIANTS = (
    SHIPPED,
    replace(SHIPPED, label="frames read as words (before)", frames=False),
    *(replace(SHIPPED, label=f"subject counted {n}x", subject_boost=n) for n in (1, 3, 4)),
    *(
        replace(SHIPPED, label=f"BM25 saturation k1 {k1} b {b}", tf="bm25", k1=k1, b=b)
        for k1 in (0.9, 1.2, 2.0)
        for b in (0.0, 0.5, 0.75, 1.0)
    ),
    replace(SHIPPED, label="BM25 rarity", idf="bm25"),
    *(replace(SHIPPED, label=f"description cut at {n} characters", max_chars=n) for n in (500, 1000, 2000, 4000)),
    *(replace(SHIPPED, label=f"description's first {n} characters counted twice", head_chars=n) for n in (300, 1000)),
    replace(SHIPPED, label="numbers left out (versions kept)", numbers=False),
    replace(SHIPPED, label="dotted identifiers and issue keys not kept whole", compounds=False),
    replace(SHIPPED, label="subject word bigrams", bigrams=1),
    replace(SHIPPED, label="repeated log lines dropped", unique_lines=True),
)


@dataclass(frozen=True)
class Data:
    texts: list[tuple[str, str]]
    ids: list[str]
    truth: dict[str, set[str]]
    meaning: Matrix
    spelling: Matrix


def load() -> tuple[Data, Data]:
    reports = hadoop_set()
    texts = reports.texts
    faq = stackfaq()
    faq_texts = [(paraphrase, "") for _, paraphrase in faq]
    mates = stackfaq_mates(faq)
    return (
        Data(texts, reports.ids, reports.duplicates, cosines(units(texts, "minilm")), _spelling(texts)),
        Data(
            faq_texts,
            [str(i) for i in range(len(faq))],
            mates,
            cosines(units(faq_texts, "minilm")),
            _spelling(faq_texts),
        ),
    )


def _spelling(texts: Sequence[tuple[str, str]]) -> Matrix:
    empty = SparseVector(np.empty(0, np.int64), np.empty(0, np.float32))
    spelling_only = pairwise([ReportVector(empty, text.spelling_vector(s, d)) for s, d in texts])
    return spelling_only / SPELLING_WEIGHT  # pairwise weighs the part; ranks() weighs it again


def ranks(data: Data, words: Words) -> tuple[list[float], list[float], NDArray[np.int64]]:
    """Recall of the lexical part alone and of `similar`'s order, and each labelled report's best rank in
    the latter (99: not in the first ten)."""
    lexical = WORD_WEIGHT * words.cosines(data.texts) + SPELLING_WEIGHT * data.spelling
    ordered = Fusion("standardised").rank(lexical, data.meaning, blend(data.meaning, lexical, 0.8))
    return recall(lexical, data.ids, data.truth), recall(ordered, data.ids, data.truth), _first(ordered, data)


def _first(ordered: Matrix, data: Data) -> NDArray[np.int64]:
    position = {issue: i for i, issue in enumerate(data.ids)}
    found = []
    for issue, truth in data.truth.items():
        row = ordered[position[issue]].copy()
        row[position[issue]] = -np.inf
        top = [data.ids[i] for i in np.argsort(-row, kind="stable")[: max(KS)]]
        found.append(next((k + 1 for k, other in enumerate(top) if other in truth), 99))
    return np.array(found)


def folds(truth: dict[str, set[str]]) -> NDArray[np.int64]:
    """The fold of each labelled report: a report and its duplicates (transitively) share one."""
    group: dict[str, str] = {}
    for start in truth:
        if start in group:
            continue
        members, stack = set(), [start]
        while stack:
            issue = stack.pop()
            if issue not in members:
                members.add(issue)
                stack.extend(truth.get(issue, ()))
        for issue in members:
            group[issue] = min(members)
    keys = sorted(set(group.values()))
    return np.array([keys.index(group[issue]) % FOLDS for issue in truth])


def cross_validated(
    found: dict[str, NDArray[np.int64]], fold: NDArray[np.int64]
) -> tuple[NDArray[np.int64], list[str]]:
    """Each fold's ranks under the variant best on the other folds (recall@10, then mean reciprocal rank)."""
    chosen, result = [], np.zeros(len(fold), np.int64)
    for held_out in range(FOLDS):
        train = fold != held_out
        best = max(found, key=lambda label: (np.mean(found[label][train] <= 10), np.mean(1 / found[label][train])))
        chosen.append(best)
        result[~train] = found[best][~train]
    return result, chosen


def grid() -> list[Words]:
    return [
        replace(
            SHIPPED,
            label=f"subject {n}x, cut {cut}, frames {frames}, {tf}",
            subject_boost=n,
            max_chars=cut,
            frames=frames,
            tf=tf,
            b=0.5,
        )
        for n, cut, frames, tf in itertools.product((2, 3), (1000, 2000, 8000), (True, False), ("log", "bm25"))
    ]


def main(with_grid: bool) -> str:
    bugs, faq = load()
    rows, found = [], {}
    for words in VARIANTS + (tuple(grid()) if with_grid else ()):
        lexical, ordered, first = ranks(bugs, words)
        _, paraphrases, _ = ranks(faq, words)
        found[words.label] = first
        rows.append(
            [
                words.label,
                *(f"{r:.3f}" for r in lexical),
                *(f"{r:.3f}" for r in ordered),
                f"{paraphrases[0]:.3f} / {paraphrases[-1]:.3f}",
            ]
        )
        print(f"  {words.label}: done", file=sys.stderr, flush=True)
    lines = [
        "## notifier_words: the words part, other representations (exhaustive replay)",
        "",
        table(["words", "lexical @1", "@5", "@10", "similar @1", "@5", "@10", "StackFAQ similar @1 / @10"], rows),
        "",
    ]
    if with_grid:
        result, chosen = cross_validated(found, folds(bugs.truth))
        lines += [
            f"Chosen by {FOLDS}-fold cross-validation over the labelled reports: `similar` recall@1/5/10 "
            + " / ".join(f"{np.mean(result <= k):.3f}" for k in KS)
            + f" (chosen per fold: {'; '.join(chosen)})",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(with_grid="--grid" in sys.argv))
