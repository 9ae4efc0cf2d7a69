"""knowledge_latency: one query's ranking time over 100,000 generated articles, and the index's memory.

The corpus is generated (seeded, so every run is the same): support-style titles and bodies drawn from a
Zipf-distributed vocabulary: support words, real English (the comments and docstrings of Python's standard
library) and 5,000 made-up product and feature names, like a large
knowledge base where a few words are everywhere and most are rare. Queries are titles of random
articles reworded the way customers write: words dropped, one typo, a few unrelated words added; plus a
share of short two-word queries. The time is `Ranker.rank` for the first page of 10 (what /v1/search and
every suggestion run), measured in-process after a warm-up; the HTTP layer and the snippet read are not
in it. Memory: the numpy arrays of the index, and the growth of the process's resident set while
building it (everything: arrays, maps, vocabulary).

    python -m bench.knowledge_latency [--articles 100000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import random
import re
import sysconfig
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from services.knowledge.search.index import IndexedDocument, SearchIndex
from services.knowledge.search.memory import TextMemory
from services.knowledge.search.ranking import Filters, Ranker

NAME = "knowledge_latency"
COMMON = [
    "account",
    "app",
    "card",
    "payment",
    "order",
    "delivery",
    "refund",
    "return",
    "password",
    "login",
    "sign",
    "code",
    "email",
    "phone",
    "address",
    "statement",
    "limit",
    "transfer",
    "balance",
    "fee",
    "charge",
    "error",
    "message",
    "screen",
    "update",
    "version",
    "settings",
    "profile",
    "notification",
    "subscription",
    "invoice",
    "receipt",
    "cancel",
    "change",
    "reset",
    "block",
    "unblock",
    "verify",
    "install",
    "open",
    "close",
    "download",
    "upload",
    "export",
    "import",
    "share",
    "sync",
    "backup",
    "restore",
    "delete",
    "remove",
    "add",
    "edit",
    "save",
    "print",
    "scan",
    "connect",
    "problem",
    "issue",
    "cannot",
    "does",
    "not",
    "work",
    "failed",
    "declined",
    "missing",
    "wrong",
    "slow",
    "crash",
    "freeze",
    "late",
    "lost",
    "damaged",
]
FILLER = [
    "the",
    "a",
    "to",
    "my",
    "is",
    "it",
    "on",
    "in",
    "for",
    "with",
    "when",
    "after",
    "before",
    "not",
    "can",
    "how",
    "why",
    "what",
    "your",
    "we",
    "you",
]


def _english_words() -> list[str]:
    """Real English words in their real proportions: the comments and docstrings of Python's own library."""
    counts: Counter[str] = Counter()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        counts.update(re.findall(r"[a-z]{3,}", path.read_text(errors="ignore").lower()))
    return [word for word, _ in counts.most_common(30_000)]


def _made_up_words(count: int, rng: random.Random) -> list[str]:
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


class Corpus:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        # Support words first, then English by frequency, with product and feature names mixed in.
        english, names = _english_words(), _made_up_words(5_000, self.rng)
        self.words = COMMON + [w for pair in itertools.zip_longest(english, names[: len(english)]) for w in pair if w]
        self.cumulative = list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(self.words))))

    def phrase(self, length: int) -> str:
        chosen = self.rng.choices(self.words, cum_weights=self.cumulative, k=length)
        return " ".join(w if self.rng.random() > 0.3 else f"{self.rng.choice(FILLER)} {w}" for w in chosen)

    def documents(self, count: int) -> list[IndexedDocument]:
        products = [f"product-{n}" for n in range(50)]
        return [
            IndexedDocument(
                id=uuid.UUID(int=n + 1),
                kind="article",
                version=1,
                title=self.phrase(self.rng.randint(4, 9)).capitalize(),
                body=". ".join(self.phrase(self.rng.randint(8, 16)) for _ in range(self.rng.randint(5, 10))),
                products=(self.rng.choice(products),),
                tags=(self.rng.choice(COMMON),),
            )
            for n in range(count)
        ]

    def queries(self, documents: Sequence[IndexedDocument], count: int) -> list[str]:
        queries = []
        for _ in range(count):
            if self.rng.random() < 0.2:
                queries.append(self.phrase(2))
                continue
            words = [w for w in self.rng.choice(documents).title.lower().split() if self.rng.random() > 0.3]
            if words:
                i = self.rng.randrange(len(words))
                if len(words[i]) > 4:
                    words[i] = words[i][:2] + words[i][3:]  # one letter dropped
            queries.append(" ".join(words + self.phrase(self.rng.randint(0, 3)).split()) or "card")
        return queries


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)), 1) - 1]


def measure(articles: int, queries: int, feedback_rows: int) -> dict[str, float]:
    corpus = Corpus()
    documents = corpus.documents(articles)
    gc.collect()
    before = resident_bytes()
    started = time.perf_counter()
    index = SearchIndex()
    for start in range(0, len(documents), 5000):
        index.put(documents[start : start + 5000])
    index.optimize()
    memory = TextMemory()
    memory.remember(
        (uuid.uuid4(), documents[n % len(documents)].id, 1.0, corpus.phrase(8)) for n in range(feedback_rows)
    )
    ranker = Ranker(index, memory)
    texts = corpus.queries(documents, queries)
    for text in texts[:200]:  # warm-up: postings merged, caches filled
        ranker.rank(text)
    built = time.perf_counter() - started
    gc.collect()
    grown = resident_bytes() - before
    timings = []
    for text in texts:
        begin = time.perf_counter()
        ranker.rank(text, limit=10)
        timings.append((time.perf_counter() - begin) * 1000)
    filtered = []
    for text in texts[: queries // 4]:
        begin = time.perf_counter()
        ranker.rank(text, Filters(products=("product-3",)), limit=10)
        filtered.append((time.perf_counter() - begin) * 1000)
    return {
        "build_s": built,
        "arrays_mb": (index.memory_bytes() + memory.nbytes()) / 2**20,
        "rss_mb": grown / 2**20,
        "p50": percentile(timings, 50),
        "p90": percentile(timings, 90),
        "p99": percentile(timings, 99),
        "max": max(timings),
        "filtered_p99": percentile(filtered, 99),
        "vocabulary": float(len(index.vocabulary)),
    }


def run(quick: bool, articles: int | None = None) -> str:
    """The latency and memory table as Markdown (register it in bench/__main__.py)."""
    count = articles or (20_000 if quick else 100_000)
    queries = 500 if quick else 2000
    result = measure(count, queries, feedback_rows=count // 10)
    headers = ["articles", "queries", "p50 ms", "p90 ms", "p99 ms", "max ms", "p99 ms, product filter"]
    headers += ["index arrays MiB", "process growth MiB", "build s"]
    row = [f"{count:,}", str(queries)] + [f"{result[k]:.2f}" for k in ("p50", "p90", "p99", "max", "filtered_p99")]
    row += [f"{result['arrays_mb']:.0f}", f"{result['rss_mb']:.0f}", f"{result['build_s']:.1f}"]
    lines = [
        f"## {NAME}: ranking one query over {count:,} generated articles",
        "",
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---:" for _ in headers) + " |",
        "| " + " | ".join(row) + " |",
        "",
        f"- vocabulary: {int(result['vocabulary']):,} terms; feedback memory: {count // 10:,} past tickets.",
        "- target: p99 under 10 ms on this machine (2 cores shared; medians of several runs are steadier).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(run(args.quick, args.articles))


if __name__ == "__main__":
    main()
