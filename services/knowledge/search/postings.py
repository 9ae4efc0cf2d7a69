"""Postings: for each term, the documents (slots) that hold it and a few weights, in a few big arrays.

Terms get integer ids. Each batch of documents becomes one segment: its term ids (sorted), offsets into
its slot and weight arrays (CSR). A term's postings are its slices from every segment. Small segments
are merged (size-tiered, like Lucene), so lookups touch few of them and memory holds almost nothing but
the arrays. Document frequencies are kept exact as documents come and go, so idf never needs a scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Slots = npt.NDArray[np.int32]
Weights = npt.NDArray[np.float32]
MAX_SEGMENTS = 8


@dataclass(frozen=True)
class _Segment:
    terms: npt.NDArray[np.int32]  # sorted, unique
    offsets: npt.NDArray[np.int64]  # postings of terms[i] are [offsets[i], offsets[i + 1])
    slots: Slots
    weights: Weights  # shape (postings, columns)
    lookup: npt.NDArray[np.int32]  # term id -> index into terms, or -1

    @classmethod
    def build(cls, term_ids: npt.NDArray[np.int32], slots: Slots, weights: Weights) -> _Segment:
        order = np.lexsort((slots, term_ids))  # by term, then slot: a term's postings can be binary-searched
        term_ids, slots, weights = term_ids[order], slots[order], weights[order]
        terms, starts = np.unique(term_ids, return_index=True)
        offsets = np.append(starts, len(term_ids)).astype(np.int64)
        lookup = np.full(int(terms[-1]) + 1 if len(terms) else 0, -1, dtype=np.int32)
        lookup[terms] = np.arange(len(terms), dtype=np.int32)
        return cls(terms.astype(np.int32), offsets, slots, weights, lookup)

    def gather(self, term_ids: npt.NDArray[np.int64]) -> tuple[Slots, Weights, npt.NDArray[np.int64]] | None:
        """The postings of several terms at once, and for each posting the index of its term in term_ids."""
        known = term_ids < len(self.lookup)
        positions = np.full(len(term_ids), -1, dtype=np.int64)
        positions[known] = self.lookup[term_ids[known]]
        which = np.flatnonzero(positions >= 0)
        if not len(which):
            return None
        starts = self.offsets[positions[which]]
        lengths = self.offsets[positions[which] + 1] - starts
        owner = np.repeat(which, lengths)
        # One index array covering every [start, start + length) range, without a Python loop.
        ranges = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths - starts, lengths)
        return self.slots[ranges], self.weights[ranges], owner

    def expanded_terms(self) -> npt.NDArray[np.int32]:
        return np.repeat(self.terms, np.diff(self.offsets))

    def find(self, term_id: int) -> tuple[Slots, Weights] | None:
        i = int(self.lookup[term_id]) if term_id < len(self.lookup) else -1
        if i < 0:
            return None
        start, end = self.offsets[i], self.offsets[i + 1]
        return self.slots[start:end], self.weights[start:end]

    @property
    def nbytes(self) -> int:
        return self.terms.nbytes + self.offsets.nbytes + self.slots.nbytes + self.weights.nbytes + self.lookup.nbytes


class PostingTable:
    """Term -> (slots, weights[n, columns]), with exact live document frequencies."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.ids: dict[str, int] = {}
        self._df = np.zeros(1024, dtype=np.int32)
        self._segments: list[_Segment] = []

    def __contains__(self, term: str) -> bool:
        return term in self.ids

    def __len__(self) -> int:
        return len(self.ids)

    def frequency(self, term: str) -> int:
        """How many live documents hold the term."""
        term_id = self.ids.get(term)
        return int(self._df[term_id]) if term_id is not None else 0

    def add_batch(self, documents: Iterable[tuple[int, Mapping[str, Sequence[float]]]]) -> list[str]:
        """Add (slot, {term: weights}) pairs as one segment; returns the terms never seen before."""
        new_terms: list[str] = []
        term_ids: list[int] = []
        slots: list[int] = []
        weights: list[Sequence[float]] = []
        for slot, postings in documents:
            for term, values in postings.items():
                term_id = self.ids.get(term)
                if term_id is None:
                    term_id = self.ids[term] = len(self.ids)
                    new_terms.append(term)
                term_ids.append(term_id)
                slots.append(slot)
                weights.append(values)
        if not term_ids:
            return new_terms
        ids = np.asarray(term_ids, dtype=np.int32)
        if len(self.ids) > len(self._df):
            grown = np.zeros(max(len(self.ids), 2 * len(self._df)), dtype=np.int32)
            grown[: len(self._df)] = self._df
            self._df = grown
        np.add.at(self._df, ids, 1)  # a document lists each of its terms once
        matrix: Weights = np.asarray(weights, dtype=np.float32).reshape(-1, self.columns)
        self._segments.append(_Segment.build(ids, np.asarray(slots, dtype=np.int32), matrix))
        self._merge_small_segments()
        return new_terms

    def gather(self, terms: Sequence[str]) -> tuple[Slots, Weights, npt.NDArray[np.int64]]:
        """Postings of all `terms` (slots, weights, index of the term), term by term within each segment."""
        ids = np.asarray([self.ids.get(term, len(self.ids) + 1) for term in terms], dtype=np.int64)
        parts = [found for segment in self._segments if (found := segment.gather(ids)) is not None]
        if not parts:
            return np.zeros(0, np.int32), np.zeros((0, self.columns), np.float32), np.zeros(0, np.int64)
        if len(parts) == 1:
            return parts[0]
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    def lookup(self, term: str, slots: Slots) -> Weights:
        """The weights of `term` in each of `slots` (zeros where a slot does not hold it)."""
        found = np.zeros((len(slots), self.columns), dtype=np.float32)
        term_id = self.ids.get(term)
        if term_id is None or not len(slots):
            return found
        for segment in self._segments:
            postings = segment.find(term_id)
            if postings is None:
                continue
            where = np.minimum(np.searchsorted(postings[0], slots), len(postings[0]) - 1)
            hit = postings[0][where] == slots
            found[hit] = postings[1][where[hit]]
        return found

    def optimize(self) -> None:
        """Merge every segment into one (after a full build: lookups then touch a single segment)."""
        if len(self._segments) > 1:
            self._segments = [self._merged(self._segments)]

    def get(self, term: str) -> tuple[Slots, Weights] | None:
        term_id = self.ids.get(term)
        if term_id is None:
            return None
        parts = [found for segment in self._segments if (found := segment.find(term_id)) is not None]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def forget_slots(self, slots: Sequence[int]) -> None:
        """Documents left: lower the frequencies of their terms (their postings stay until compaction)."""
        wanted = np.asarray(slots, dtype=np.int32)
        for segment in self._segments:
            positions = np.flatnonzero(np.isin(segment.slots, wanted))
            if len(positions):
                owners = np.searchsorted(segment.offsets, positions, side="right") - 1
                np.subtract.at(self._df, segment.terms[owners], 1)

    def compact(self, remap: npt.NDArray[np.int32]) -> None:
        """One segment without the postings of dead slots (remap[slot] == -1), the others renumbered."""
        if not self._segments:
            return
        terms = np.concatenate([s.expanded_terms() for s in self._segments])
        slots = remap[np.concatenate([s.slots for s in self._segments])]
        weights = np.concatenate([s.weights for s in self._segments])
        keep = slots >= 0
        self._segments = [_Segment.build(terms[keep], slots[keep].astype(np.int32), weights[keep])]

    def _merge_small_segments(self) -> None:
        if len(self._segments) <= MAX_SEGMENTS:
            return
        ordered = sorted(self._segments, key=lambda s: len(s.slots), reverse=True)
        largest, rest = ordered[0], ordered[1:]
        # Merge the small ones together; fold them into the largest only once they are worth it.
        group = ordered if sum(len(s.slots) for s in rest) * 4 >= len(largest.slots) else rest
        self._segments = [s for s in self._segments if all(s is not g for g in group)] + [self._merged(group)]

    @staticmethod
    def _merged(group: Sequence[_Segment]) -> _Segment:
        return _Segment.build(
            np.concatenate([s.expanded_terms() for s in group]),
            np.concatenate([s.slots for s in group]),
            np.concatenate([s.weights for s in group]),
        )

    def nbytes(self) -> int:
        return sum(segment.nbytes for segment in self._segments) + self._df.nbytes
