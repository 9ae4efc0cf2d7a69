"""Ranking: the index's channels combined, feedback from similar past tickets, filters and pages.

Each lexical channel is scaled by its best score for the query and the mix by how much of the query the
best article covers: score = coverage * (words + 0.7 * title trigrams) + feedback. Feedback is the
likeness of the query to past queries an article answered (noisy-or of their cosines), minus its
likeness to ones it failed; so a question the articles barely cover is answered by what resolved the
same question before. An article whose title is exactly the query is always first, so no amount of
feedback hides an exact match. Scores are rounded before sorting and ties broken by article id, so the
order is a pure function of the articles, the feedback and the query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.knowledge.search.index import Entry, SearchIndex
from services.knowledge.search.memory import TextMemory

GRAM_WEIGHT = 0.7
FEEDBACK_WEIGHT = 1.0
FEEDBACK_MIN_SIMILARITY = 0.25
MIN_SCORE = 0.05
FULL_COVERAGE = 0.5  # a best match worth half the ideal score counts as a full match
EXACT_BONUS = 1000.0  # above any reachable score: an exact title match sorts first, feedback or not
Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Filters:
    products: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    locales: tuple[str, ...] = ()
    kind: str | None = None


NO_FILTERS = Filters()


@dataclass(frozen=True)
class Position:
    """Where a page ended: the sort key and id of its last hit (the next page starts after it)."""

    key: float
    id: str


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float
    exact: bool
    position: Position


class Ranker:
    def __init__(self, index: SearchIndex, feedback: TextMemory) -> None:
        self.index, self.feedback = index, feedback

    def rank(
        self,
        query: str,
        filters: Filters = NO_FILTERS,
        *,
        after: Position | None = None,
        limit: int = 10,
        terms: Mapping[str, float] | None = None,
    ) -> tuple[list[Hit], bool]:
        """One page of hits after `after`, and whether more follow; `terms`: the query's, when the caller
        has them already (`query_terms` of the query, in the locale of the filters)."""
        index = self.index
        if terms is None:
            terms = self.query_terms(query, filters)
        words = index.word_scores(terms)
        base = _scaled(words) + GRAM_WEIGHT * _scaled(index.gram_scores(query))
        base *= _confidence(words, index.ideal_word_score(terms))
        score = np.round(base + FEEDBACK_WEIGHT * self.feedback_boost(terms), 6)
        exact = np.zeros(len(score), dtype=bool)
        exact[list(index.exact_title_slots(query))] = True
        key = np.where(exact, score + EXACT_BONUS, score)
        eligible = _eligible(index, filters) & ((score >= MIN_SCORE) | exact)
        if after is not None:
            eligible &= (key < after.key) | ((key == after.key) & _ids_after(index, key, after))
        candidates = np.flatnonzero(eligible)
        if len(candidates) > limit:
            threshold = np.partition(key[candidates], len(candidates) - limit)[len(candidates) - limit]
            top = candidates[key[candidates] >= threshold]
        else:
            top = candidates
        ordered = sorted(top.tolist(), key=lambda slot: (-key[slot], str(index.entry(slot).id)))[:limit]
        hits = [
            Hit(
                entry=index.entry(slot),
                score=round(float(score[slot]), 4),
                exact=bool(exact[slot]),
                position=Position(float(key[slot]), str(index.entry(slot).id)),
            )
            for slot in ordered
        ]
        return hits, len(candidates) > len(hits)

    def query_terms(self, query: str, filters: Filters = NO_FILTERS) -> dict[str, float]:
        """The query's terms as `rank` reads them."""
        # A query asking for articles of one locale is stemmed as they were; otherwise as English.
        return self.index.query_terms(query, filters.locales[0] if len(filters.locales) == 1 else None)

    def feedback_boost(self, terms: Mapping[str, float]) -> Scores:
        """Per slot: likeness to past queries it answered (noisy-or) minus the best it did not."""
        index = self.index
        boost = np.zeros(len(index.live_mask()))
        if not len(self.feedback):
            return boost
        similarity, owners, signs = self.feedback.similarities(terms, index.document_frequency, max(len(index), 1))
        helped: dict[int, float] = {}
        failed: dict[int, float] = {}
        for row in np.flatnonzero(similarity >= FEEDBACK_MIN_SIMILARITY).tolist():
            slot = index.slot_of(owners[row])
            if slot is None:
                continue
            if signs[row] > 0:
                helped[slot] = 1 - (1 - helped.get(slot, 0.0)) * (1 - float(similarity[row]))
            else:
                failed[slot] = max(failed.get(slot, 0.0), float(similarity[row]))
        for slot in helped.keys() | failed.keys():
            boost[slot] = helped.get(slot, 0.0) - failed.get(slot, 0.0)
        return boost


def _confidence(words: Scores, ideal: float) -> float:
    """How much of the query the best article covers: a weak best match must not outweigh feedback."""
    best = float(words.max()) if len(words) else 0.0
    return min(1.0, best / (ideal * FULL_COVERAGE)) if ideal > 0 else 0.0


def _scaled(scores: Scores) -> Scores:
    best = float(scores.max()) if len(scores) else 0.0
    return scores / best if best > 0 else scores


def _eligible(index: SearchIndex, filters: Filters) -> npt.NDArray[np.bool_]:
    mask = index.live_mask().copy()
    if filters.kind:
        mask &= index.kind_mask(filters.kind)
    for name, values in (("product", filters.products), ("tag", filters.tags), ("locale", filters.locales)):
        if values:
            mask &= index.facet_mask(name, values)
    return mask


def _ids_after(index: SearchIndex, key: Scores, after: Position) -> npt.NDArray[np.bool_]:
    later = np.zeros(len(key), dtype=bool)
    for slot in np.flatnonzero((key == after.key) & index.live_mask()).tolist():
        later[slot] = str(index.entry(slot).id) > after.id
    return later
