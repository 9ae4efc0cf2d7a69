"""knowledge_quality: does search find the answer the way customers ask? MRR@10, recall@1 and @5.

Data: StackFAQ (../shared/evaldata/stackfaq by default, or --data PATH): each thread (question and its
answers) is an article, each human paraphrase a query whose right answer is its thread. The file is read
where it lies, never copied. Rows:

- TF-IDF: the reference point (scikit-learn, cosine over question and answers).
- firstcall, cold: our ranking with no feedback at all, on the paraphrases as written, with typos
  injected (one in three words of five letters or more, seeded), and with a third of the words dropped.
- firstcall + feedback: held-out folds. For fold k the other paraphrases of every thread are past tickets
  resolved with that thread (feedback), and paraphrase k is the query; averaged over the folds, so no
  query is ever its own feedback.
- exact titles under hostile feedback: every thread's paraphrases credited to the *wrong* thread, then
  each thread's own title as the query: feedback must never push an exact match off the top.

    python -m bench.knowledge_quality [--data PATH] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from services.knowledge.search.index import IndexedDocument, SearchIndex
from services.knowledge.search.memory import TextMemory
from services.knowledge.search.ranking import Ranker

NAME = "knowledge_quality"
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "evaldata" / "stackfaq"
HEADERS = ["ranking", "queries", "MRR@10", "recall@1", "recall@5"]


@dataclass(frozen=True)
class Thread:
    question: str
    answers: list[str]
    paraphrases: list[str]


def load_threads(path: Path) -> list[Thread]:
    source = path / "stackfaq-dev.json" if path.is_dir() else path
    threads = json.loads(source.read_text())["threads"]
    return [Thread(t["question"], list(t["answers"]), list(t["paraphrases"])) for t in threads]


def thread_id(number: int) -> uuid.UUID:
    return uuid.UUID(int=number + 1)


def build_ranker(threads: Sequence[Thread]) -> Ranker:
    index = SearchIndex()
    index.put(
        IndexedDocument(thread_id(n), "article", 1, t.question, "\n\n".join(t.answers)) for n, t in enumerate(threads)
    )
    return Ranker(index, TextMemory())


def measure(rank: Callable[[str], list[uuid.UUID]], queries: Sequence[tuple[str, uuid.UUID]]) -> tuple[float, ...]:
    """(MRR@10, recall@1, recall@5) over (query, right answer) pairs."""
    reciprocal, at1, at5 = 0.0, 0, 0
    for query, answer in queries:
        ranked = rank(query)[:10]
        if answer in ranked:
            position = ranked.index(answer) + 1
            reciprocal += 1 / position
            at1 += position == 1
            at5 += position <= 5
    n = max(len(queries), 1)
    return reciprocal / n, at1 / n, at5 / n


def ours(ranker: Ranker) -> Callable[[str], list[uuid.UUID]]:
    return lambda query: [hit.entry.id for hit in ranker.rank(query, limit=10)[0]]


def tfidf(threads: Sequence[Thread]) -> Callable[[str], list[uuid.UUID]]:
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    matrix = vectorizer.fit_transform([t.question + " " + " ".join(t.answers) for t in threads])

    def rank(query: str) -> list[uuid.UUID]:
        scores = (matrix @ vectorizer.transform([query]).T).toarray().ravel()
        return [thread_id(int(n)) for n in np.argsort(-scores, kind="stable")[:10]]

    return rank


def with_typos(query: str, rng: random.Random) -> str:
    """One edit (drop, swap, replace or insert a letter) in about a third of the longer words."""
    words = []
    for word in query.split():
        if len(word) >= 5 and rng.random() < 1 / 3:
            i = rng.randrange(1, len(word) - 1)
            letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
            edits = [word[:i] + word[i + 1 :], word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]]
            edits += [word[:i] + letter + word[i + 1 :], word[:i] + letter + word[i:]]
            words.append(rng.choice(edits))
        else:
            words.append(word)
    return " ".join(words)


def with_missing_words(query: str, rng: random.Random) -> str:
    words = query.split()
    kept = [w for w in words if rng.random() >= 1 / 3]
    return " ".join(kept or words[:1])


def paraphrase_queries(threads: Sequence[Thread]) -> list[tuple[str, uuid.UUID]]:
    return [(p, thread_id(n)) for n, t in enumerate(threads) for p in t.paraphrases]


def feedback_folds(threads: Sequence[Thread], per_thread: int) -> tuple[float, ...]:
    """Average over folds: paraphrase k is the query, up to `per_thread` others are past resolved tickets."""
    folds = max(len(t.paraphrases) for t in threads)
    totals = np.zeros(3)
    for fold in range(folds):
        ranker = build_ranker(threads)
        rows, queries = [], []
        for n, thread in enumerate(threads):
            if fold >= len(thread.paraphrases):
                continue
            queries.append((thread.paraphrases[fold], thread_id(n)))
            others = [p for k, p in enumerate(thread.paraphrases) if k != fold][:per_thread]
            rows += [(uuid.uuid4(), thread_id(n), 1.0, other) for other in others]
        ranker.feedback.remember(rows)
        totals += np.array(measure(ours(ranker), queries)) * len(queries)
    return tuple(totals / len(paraphrase_queries(threads)))


def hostile_feedback_exact_titles(threads: Sequence[Thread]) -> tuple[float, ...]:
    ranker = build_ranker(threads)
    rows = [
        (uuid.uuid4(), thread_id((n + 1) % len(threads)), 1.0, p) for n, t in enumerate(threads) for p in t.paraphrases
    ]
    rows += [(uuid.uuid4(), thread_id(n), -1.0, t.question) for n, t in enumerate(threads)]
    ranker.feedback.remember(rows)
    return measure(ours(ranker), [(t.question, thread_id(n)) for n, t in enumerate(threads)])


def table(data: Path, quick: bool) -> tuple[list[list[str]], float]:
    threads = load_threads(data)
    started = time.perf_counter()
    queries = paraphrase_queries(threads)
    ranker = build_ranker(threads)
    rng = random.Random(20261122)
    typos = [(with_typos(q, rng), a) for q, a in queries]
    missing = [(with_missing_words(q, rng), a) for q, a in queries]
    rows: list[tuple[str, int, tuple[float, ...]]] = [
        ("TF-IDF reference, paraphrases", len(queries), measure(tfidf(threads), queries)),
        ("firstcall cold, paraphrases", len(queries), measure(ours(ranker), queries)),
        ("firstcall cold, paraphrases with typos", len(typos), measure(ours(ranker), typos)),
        ("firstcall cold, a third of the words missing", len(missing), measure(ours(ranker), missing)),
        ("TF-IDF reference, paraphrases with typos", len(typos), measure(tfidf(threads), typos)),
    ]
    for per_thread in (1,) if quick else (1, 4):
        label = f"firstcall + feedback ({per_thread} past ticket{'s' if per_thread > 1 else ''} per thread)"
        rows.append((label, len(queries), feedback_folds(threads, per_thread)))
    rows.append(
        ("exact titles, feedback crediting the wrong thread", len(threads), hostile_feedback_exact_titles(threads))
    )
    return [
        [name, str(n), *(f"{value:.3f}" for value in values)] for name, n, values in rows
    ], time.perf_counter() - started


def run(quick: bool, data: Path | None = None) -> str:
    """The quality table as Markdown (register it in bench/__main__.py with the other benchmarks)."""
    path = data or DEFAULT_DATA
    rows, seconds = table(path, quick)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    lines = [
        f"## {NAME}: search quality on StackFAQ ({path})",
        "",
        "| " + " | ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)) + " |",
        "| " + " | ".join("-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths)) + " |",
    ]
    lines += [
        "| "
        + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        + " |"
        for r in rows
    ]
    lines += ["", f"- measured in {seconds:.1f}s; typo and missing-word queries are seeded, so every run is the same."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="StackFAQ folder or stackfaq-dev.json")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(run(args.quick, args.data))


if __name__ == "__main__":
    main()
