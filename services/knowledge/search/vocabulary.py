"""The words the articles use, and the closest of them to a misspelled query word.

One edit (an adjacent swap included) changes at most four trigrams of a word, so a word within edit
distance d of the query word holds at least one of any 4d + 1 of the query word's trigrams: looking only at the candidates of the rarest trigrams finds every
correction without scanning the vocabulary, which keeps a typo as cheap as a correct word.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from services.knowledge.search import features


class Vocabulary:
    def __init__(self) -> None:
        self._known: set[str] = set()
        self._by_trigram: dict[str, list[str]] = defaultdict(list)

    def __contains__(self, term: str) -> bool:
        return term in self._known

    def __len__(self) -> int:
        return len(self._known)

    def add(self, terms: Iterable[str]) -> None:
        for term in terms:
            if term in self._known:
                continue
            self._known.add(term)
            if term.isalpha() and len(term) >= 3:
                for gram in features.trigrams(term):
                    self._by_trigram[gram].append(term)

    def closest(self, term: str, frequency: Callable[[str], int]) -> tuple[str, int] | None:
        """The known word nearest to `term` (ties: the more frequent, then alphabetical) and its distance."""
        limit = 1 if len(term) <= 7 else 2
        grams = sorted(features.trigrams(term), key=lambda gram: (len(self._by_trigram.get(gram, ())), gram))
        candidates: set[str] = set()
        for gram in grams[: 4 * limit + 1]:
            candidates.update(self._by_trigram.get(gram, ()))
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            if abs(len(candidate) - len(term)) > limit:
                continue
            distance = features.edit_distance(term, candidate, limit)
            if distance > limit:
                continue
            df = frequency(candidate)
            if df and (best is None or (distance, -df, candidate) < best):
                best = (distance, -df, candidate)
        return (best[2], best[0]) if best else None
