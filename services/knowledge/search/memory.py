"""Short texts remembered for their owner: past queries an article answered, known issues' symptoms.

Each row is a unit vector of its terms (sublinear frequencies, so it depends on that text alone) with an
owner id and a sign (+1 helped, -1 did not). A query, weighted by how rare its terms are among the
articles, gets its cosine with every row at once through the postings.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import numpy.typing as npt

from services.knowledge.search import features
from services.knowledge.search.postings import PostingTable


class TextMemory:
    def __init__(self) -> None:
        self._postings = PostingTable(columns=1)
        self._owners: list[uuid.UUID] = []
        self._signs: list[float] = []
        self._live: list[bool] = []
        self._rows_of: dict[uuid.UUID, list[int]] = {}
        self._keys: set[object] = set()
        self._arrays: tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]] | None = None

    def __len__(self) -> int:
        return sum(self._live)

    def remember(self, entries: Iterable[tuple[object, uuid.UUID, float, str]]) -> None:
        """Add (key, owner, sign, text) rows; a key already remembered is skipped (replays are harmless)."""
        batch: list[tuple[int, dict[str, tuple[float]]]] = []
        for key, owner, sign, content in entries:
            if key in self._keys:
                continue
            self._keys.add(key)
            vector = features.unit_vector(features.ANALYSER.term_counts(content))
            row = len(self._owners)
            self._owners.append(owner)
            self._signs.append(sign)
            self._live.append(bool(vector))
            self._rows_of.setdefault(owner, []).append(row)
            batch.append((row, {term: (weight,) for term, weight in vector.items()}))
        self._postings.add_batch(batch)
        self._arrays = None

    def forget(self, owner: uuid.UUID) -> None:
        """Drop every row of an owner (a known issue rewritten is remembered again)."""
        for row in self._rows_of.pop(owner, []):
            self._live[row] = False
        self._arrays = None
        self._keys = {key for key in self._keys if not (isinstance(key, tuple) and key[:1] == (owner,))}

    def similarities(
        self, query_terms: Mapping[str, float], frequency: Callable[[str], int], population: int
    ) -> tuple[npt.NDArray[np.float64], list[uuid.UUID], npt.NDArray[np.float64]]:
        """(cosine per row, owner per row, sign per row) for a query; dead rows score zero."""
        weights: dict[str, float] = {}
        for term, count in query_terms.items():
            df = frequency(term)
            weights[term] = (1 + math.log(count)) * math.log(1 + (population - df + 0.5) / (df + 0.5))
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        scores = np.zeros(len(self._owners))
        for term in sorted(weights):
            postings = self._postings.get(term)
            if postings is not None:
                scores[postings[0]] += postings[1][:, 0] * (weights[term] / norm)
        if self._arrays is None:
            self._arrays = (np.asarray(self._live, dtype=bool), np.asarray(self._signs, dtype=np.float64))
        live, signs = self._arrays
        scores[~live] = 0.0
        return scores, self._owners, signs

    def nbytes(self) -> int:
        return self._postings.nbytes() + 16 * len(self._owners)
