"""The snippet shown under a hit: the passage of the body that shares most with the query.

Cutting a body into sentences and analysing each is most of a snippet's cost, and the same few articles
are suggested for ticket after ticket in a burst; so suggestions keep the analysed passages of recent
article versions (a version's body never changes) in a cache bounded by the characters it holds.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from services.knowledge.search import features

SNIPPET_CHARS = 240
PASSAGE_CACHE_CHARS = 4_000_000  # of bodies: with their terms, some tens of MiB at most


@dataclass(frozen=True)
class Passages:
    """A body cut into sentences, with the terms of each."""

    texts: tuple[str, ...]
    terms: tuple[frozenset[str], ...]
    chars: int


def passages_of(body: str) -> Passages:
    """The body's passages and their terms, as a snippet compares them with a query."""
    texts = tuple(features.sentences(body))
    return Passages(texts, tuple(frozenset(features.ANALYSER.terms(text)) for text in texts), len(body))


def query_terms(query: str) -> frozenset[str]:
    """The terms a snippet looks for: the query's, uncorrected."""
    return frozenset(features.ANALYSER.terms(query))


def snippet(body: str, query: str, *, limit: int = SNIPPET_CHARS) -> str:
    """The sentence (and what follows it, up to `limit` characters) that best covers the query's terms."""
    return best_passage(passages_of(body), query_terms(query), limit=limit)


def best_passage(passages: Passages, wanted: Iterable[str], *, limit: int = SNIPPET_CHARS) -> str:
    """`snippet` of analysed passages, for terms analysed once per query."""
    texts = passages.texts
    if not texts:
        return ""
    wanted = frozenset(wanted)
    best, best_score = 0, -1.0
    for position, terms in enumerate(passages.terms):
        score = len(terms & wanted) - position * 1e-3  # earlier wins a tie: openings tend to state the answer
        if score > best_score:
            best, best_score = position, score
    chosen = " ".join(texts[best:])
    if len(chosen) <= limit:
        return ("… " if best else "") + chosen
    cut = chosen[:limit].rsplit(" ", 1)[0]
    return ("… " if best else "") + cut + " …"


class PassageCache:
    """Analysed passages of article versions, least recently used dropped first past `max_chars`."""

    def __init__(self, max_chars: int = PASSAGE_CACHE_CHARS) -> None:
        self.max_chars = max_chars
        self.chars = 0
        self.hits = self.misses = 0  # for benchmarks and the curious: how often a body was not read
        self._entries: OrderedDict[tuple[uuid.UUID, int], Passages] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, article_id: uuid.UUID, version: int) -> Passages | None:
        found = self._entries.get((article_id, version))
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
            self._entries.move_to_end((article_id, version))
        return found

    def put(self, article_id: uuid.UUID, version: int, body: str) -> Passages:
        """Analyse the body of this version and keep it, if it fits at all."""
        passages = passages_of(body)
        if passages.chars > self.max_chars:
            return passages
        previous = self._entries.pop((article_id, version), None)
        self.chars += passages.chars - (previous.chars if previous else 0)
        self._entries[(article_id, version)] = passages
        while self.chars > self.max_chars:
            _, dropped = self._entries.popitem(last=False)
            self.chars -= dropped.chars
        return passages
