"""How alike two reports are: one score in [0, 1] that thresholds and rankings can rely on.

A report is stored as two unit sparse vectors (its words weighted by rarity, and the character n-grams of
its content words), packed into one compact blob beside the report so re-scoring candidates needs no
vocabulary, only numbers: 64-bit word ids, 31-bit n-gram ids, half-precision weights, which keeps the
blob around a kilobyte (inline in the row, no TOAST lookup when candidates are fetched). The lexical
part favours words; n-grams lift typos and spelling variants.

With a sentence encoder, a third vector says what the report means (embedding.py), and the score is
`meaning_weight` x its cosine + the rest x the lexical part: paraphrases that share no word score on
meaning, and rare shared identifiers (a class name, an error code) still count through the words. The
score is never below the lexical part alone: meaning lifts a pair whose words differ, but does not sink
one whose words match (a typo, which the encoder's tokenizer splits oddly, or a log line it cannot read).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from services.notifier.detection.embedding import Meaning, cosines, stored_cosines
from services.notifier.detection.text import SparseVector

WORD_WEIGHT = 0.75
SPELLING_WEIGHT = 0.25
_HEADER = struct.Struct("<II")


@dataclass(frozen=True)
class ReportVector:
    words: SparseVector
    spelling: SparseVector
    meaning: Meaning | None = None

    def to_bytes(self) -> bytes:
        """The lexical blob stored with the report (`features`): counts, then terms and weights of each part."""
        return b"".join(
            [
                _HEADER.pack(len(self.words.terms), len(self.spelling.terms)),
                self.words.terms.astype("<i8").tobytes(),
                self.words.weights.astype("<f2").tobytes(),
                self.spelling.terms.astype("<i4").tobytes(),
                self.spelling.weights.astype("<f2").tobytes(),
            ]
        )

    @classmethod
    def from_row(cls, features: bytes, embedding: bytes | None) -> ReportVector:
        """A stored report's vectors: its `features` and, when it has one, its `embedding`."""
        lexical = cls.from_bytes(features)
        return cls(lexical.words, lexical.spelling, Meaning.from_bytes(embedding) if embedding else None)

    @classmethod
    def from_bytes(cls, blob: bytes) -> ReportVector:
        word_terms, word_weights, gram_terms, gram_weights = _views(blob)
        return cls(
            SparseVector(word_terms.astype(np.int64), word_weights.astype(np.float32)),
            SparseVector(gram_terms.astype(np.int64), gram_weights.astype(np.float32)),
        )


# What follows a `features` blob's header (ReportVector.to_bytes), in order: each part's type, and which of
# the header's two counts (words, n-grams) is its length.
_PARTS: tuple[tuple[np.dtype[Any], int], ...] = (
    (np.dtype("<i8"), 0),
    (np.dtype("<f2"), 0),
    (np.dtype("<i4"), 1),
    (np.dtype("<f2"), 1),
)


def _views(blob: bytes) -> list[NDArray[Any]]:
    """A `features` blob's word terms, word weights, n-gram terms and n-gram weights, as views into it."""
    counts = _HEADER.unpack_from(blob)
    views, offset = [], _HEADER.size
    for kind, count in _PARTS:
        view = np.frombuffer(blob, kind, counts[count], offset)
        views.append(view)
        offset += view.nbytes
    return views


def similarity(a: ReportVector, b: ReportVector, *, meaning_weight: float = 0.0) -> float:
    """Blended similarity of two reports."""
    return float(similarities(a, [b], meaning_weight=meaning_weight)[0])


def similarities(
    query: ReportVector, others: Sequence[ReportVector] | StoredVectors, *, meaning_weight: float = 0.0
) -> NDArray[np.float64]:
    """The similarity of one report to each of many, in one vectorised pass (re-scoring candidates)."""
    return score_parts(query, others, meaning_weight=meaning_weight).blended


@dataclass(frozen=True)
class StoredVectors:
    """Reports' vectors as stored (`features` and `embedding` of each row), scored without being decoded
    one by one: re-scoring a hundred candidates took twice as long through a ReportVector each."""

    features: Sequence[bytes]
    embeddings: Sequence[bytes | None]

    def __len__(self) -> int:
        return len(self.features)


@dataclass(frozen=True)
class ScoreParts:
    """The score of one report against many, and what it is made of (the duplicate view ranks on the
    parts, ranking.py)."""

    blended: NDArray[np.float64]
    lexical: NDArray[np.float64]
    meaning: NDArray[np.float64] | None  # None: not comparable for every pair (or no meaning weight)

    def take(self, positions: Sequence[int]) -> ScoreParts:
        picked = list(positions)
        meaning = None if self.meaning is None else self.meaning[picked]
        return ScoreParts(self.blended[picked], self.lexical[picked], meaning)


def score_parts(
    query: ReportVector, others: Sequence[ReportVector] | StoredVectors, *, meaning_weight: float = 0.0
) -> ScoreParts:
    """The similarities and their lexical and meaning parts.

    A pair without comparable meanings (a report stored before the encoder was chosen) is scored on
    words alone."""
    if len(others) == 0:
        return ScoreParts(np.zeros(0), np.zeros(0), None)
    if isinstance(others, StoredVectors):
        words, spelling = _unpack(others.features)
    else:
        words = _Packed.of([other.words for other in others])
        spelling = _Packed.of([other.spelling for other in others])
    lexical = WORD_WEIGHT * _dots(query.words, words) + SPELLING_WEIGHT * _dots(query.spelling, spelling)
    if meaning_weight <= 0 or query.meaning is None:
        return ScoreParts(lexical, lexical, None)
    if isinstance(others, StoredVectors):
        meaning, comparable = stored_cosines(query.meaning, others.embeddings)
    else:
        meaning, comparable = cosines(query.meaning, [other.meaning for other in others])
    blended = np.where(
        comparable, np.maximum(meaning_weight * meaning + (1 - meaning_weight) * lexical, lexical), lexical
    )
    return ScoreParts(blended, lexical, meaning if comparable.all() else None)


def pairwise(vectors: Sequence[ReportVector], *, meaning_weight: float = 0.0) -> NDArray[np.float64]:
    """Every pair's similarity (choosing the member that best speaks for a cluster)."""
    words = _matrix([v.words for v in vectors])
    spelling = _matrix([v.spelling for v in vectors])
    lexical = np.asarray(
        WORD_WEIGHT * (words @ words.T).toarray() + SPELLING_WEIGHT * (spelling @ spelling.T).toarray()
    )
    meanings = [v.meaning for v in vectors if v.meaning is not None]
    if meaning_weight <= 0 or len(meanings) < len(vectors) or len({m.encoder for m in meanings}) != 1:
        return lexical
    units = np.stack([m.unit() for m in meanings])
    blended = meaning_weight * np.clip(units @ units.T, 0.0, 1.0) + (1 - meaning_weight) * lexical
    return np.asarray(np.maximum(blended, lexical))


@dataclass(frozen=True)
class _Packed:
    """Many sparse vectors end to end: their terms and weights concatenated, and each one's length."""

    terms: NDArray[np.int64]
    weights: NDArray[np.float64]
    lengths: NDArray[np.int64]

    @classmethod
    def of(cls, vectors: Sequence[SparseVector]) -> _Packed:
        return cls.joined([v.terms for v in vectors], [v.weights for v in vectors])

    @classmethod
    def joined(cls, terms: Sequence[NDArray[Any]], weights: Sequence[NDArray[Any]]) -> _Packed:
        lengths = np.fromiter((len(t) for t in terms), np.int64, len(terms))
        if lengths.sum() == 0:
            return cls(np.empty(0, np.int64), np.empty(0), lengths)
        return cls(np.concatenate(terms).astype(np.int64), np.concatenate(weights).astype(np.float64), lengths)


def _unpack(blobs: Sequence[bytes]) -> tuple[_Packed, _Packed]:
    """The words and spelling parts of stored `features` blobs (ReportVector.to_bytes), packed: each part's
    bytes sliced out of every blob and joined, then read as one array (a NumPy view per part per blob
    cost 3.5 µs each, a third of re-scoring a hundred candidates)."""
    parts: list[list[bytes]] = [[] for _ in _PARTS]
    word_lengths, gram_lengths = [], []
    for blob in blobs:
        counts = _HEADER.unpack_from(blob)
        offset = _HEADER.size
        for part, (kind, count) in zip(parts, _PARTS, strict=True):
            size = kind.itemsize * counts[count]
            part.append(blob[offset : offset + size])
            offset += size
        word_lengths.append(counts[0])
        gram_lengths.append(counts[1])
    word_terms, word_weights, gram_terms, gram_weights = (
        np.frombuffer(b"".join(part), kind) for part, (kind, _) in zip(parts, _PARTS, strict=True)
    )
    return (
        _Packed(word_terms.astype(np.int64), word_weights.astype(np.float64), np.array(word_lengths, np.int64)),
        _Packed(gram_terms.astype(np.int64), gram_weights.astype(np.float64), np.array(gram_lengths, np.int64)),
    )


# A query's terms are looked up in a table indexed by their low bits rather than by binary search (which
# cost 18 ns per candidate term: 0.4 ms for the 20,000 n-grams of a hundred candidates).
_SLOT_BITS = 13
_SLOT_MASK = (1 << _SLOT_BITS) - 1


def _dots(query: SparseVector, others: _Packed) -> NDArray[np.float64]:
    """The dot product of the query with each packed vector."""
    count = len(others.lengths)
    if len(query.terms) == 0 or len(others.terms) == 0:
        return np.zeros(count)
    slots = query.terms & _SLOT_MASK
    keys = np.full(_SLOT_MASK + 1, -1, np.int64)
    keys[slots] = query.terms  # where query terms share a slot, one of them holds it
    held = keys[slots] == query.terms
    weights = np.zeros(_SLOT_MASK + 1)
    weights[slots[held]] = query.weights[held]
    looked_up = others.terms & _SLOT_MASK
    found = keys[looked_up] == others.terms
    contributions = np.where(found, weights[looked_up], 0.0)
    # The few query terms that lost their slot to another (about 2 of 200 n-grams) are matched directly.
    lost = ~held
    for term, weight in zip(query.terms[lost].tolist(), query.weights[lost].tolist(), strict=True):
        contributions[others.terms == term] = weight
    owner = np.repeat(np.arange(count), others.lengths)
    return np.bincount(owner, contributions * others.weights, minlength=count).astype(np.float64)


def _matrix(vectors: Sequence[SparseVector]) -> sparse.csr_matrix:
    lengths = [len(v.terms) for v in vectors]
    terms = np.concatenate([v.terms for v in vectors]) if vectors else np.empty(0, np.int64)
    _, columns = np.unique(terms, return_inverse=True)
    pointers = np.concatenate([[0], np.cumsum(lengths)])
    weights = np.concatenate([v.weights for v in vectors]).astype(np.float64) if vectors else np.empty(0)
    return sparse.csr_matrix((weights, columns, pointers), shape=(len(vectors), int(columns.max(initial=-1)) + 1))
