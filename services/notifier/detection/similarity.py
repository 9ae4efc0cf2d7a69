"""How alike two reports are: one score in [0, 1] that thresholds and rankings can rely on.

A report is stored as two unit vectors (its words weighted by rarity, and the character n-grams of its
content words), packed into one compact blob beside the report so re-scoring candidates needs no
vocabulary, only numbers: 64-bit word ids, 31-bit n-gram ids, half-precision weights, which keeps the
blob around a kilobyte (inline in the row, no TOAST lookup when candidates are fetched). The blend
favours words; n-grams lift typos and spelling variants.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from services.notifier.detection.text import SparseVector

WORD_WEIGHT = 0.75
SPELLING_WEIGHT = 0.25
_HEADER = struct.Struct("<II")


@dataclass(frozen=True)
class ReportVector:
    words: SparseVector
    spelling: SparseVector

    def to_bytes(self) -> bytes:
        """The blob stored with the report: counts, then terms and weights of each part."""
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
    def from_bytes(cls, blob: bytes) -> ReportVector:
        n_words, n_grams = _HEADER.unpack_from(blob)
        vectors = []
        offset = _HEADER.size
        for size, term_type, term_bytes in ((n_words, "<i8", 8), (n_grams, "<i4", 4)):
            terms = np.frombuffer(blob, term_type, size, offset).astype(np.int64)
            offset += term_bytes * size
            weights = np.frombuffer(blob, "<f2", size, offset).astype(np.float32)
            offset += 2 * size
            vectors.append(SparseVector(terms, weights))
        return cls(vectors[0], vectors[1])


def similarity(a: ReportVector, b: ReportVector) -> float:
    """Blended cosine similarity of two reports."""
    return WORD_WEIGHT * a.words.dot(b.words) + SPELLING_WEIGHT * a.spelling.dot(b.spelling)


def similarities(query: ReportVector, others: Sequence[ReportVector]) -> NDArray[np.float64]:
    """The similarity of one report to each of many, in one vectorised pass (re-scoring candidates)."""
    if not others:
        return np.zeros(0)
    words = _dots(query.words, [other.words for other in others])
    spelling = _dots(query.spelling, [other.spelling for other in others])
    return WORD_WEIGHT * words + SPELLING_WEIGHT * spelling


def pairwise(vectors: Sequence[ReportVector]) -> NDArray[np.float64]:
    """Every pair's similarity (choosing the member that best speaks for a cluster)."""
    words = _matrix([v.words for v in vectors])
    spelling = _matrix([v.spelling for v in vectors])
    return np.asarray(WORD_WEIGHT * (words @ words.T).toarray() + SPELLING_WEIGHT * (spelling @ spelling.T).toarray())


def _dots(query: SparseVector, others: Sequence[SparseVector]) -> NDArray[np.float64]:
    lengths = np.fromiter((len(o.terms) for o in others), np.int64, len(others))
    if len(query.terms) == 0 or lengths.sum() == 0:
        return np.zeros(len(others))
    terms = np.concatenate([o.terms for o in others])
    weights = np.concatenate([o.weights for o in others]).astype(np.float64)
    owner = np.repeat(np.arange(len(others)), lengths)
    position = np.minimum(np.searchsorted(query.terms, terms), len(query.terms) - 1)
    shared = query.terms[position] == terms
    contributions = weights[shared] * query.weights[position[shared]]
    dots: NDArray[np.float64] = np.bincount(owner[shared], contributions, minlength=len(others)).astype(np.float64)
    return dots


def _matrix(vectors: Sequence[SparseVector]) -> sparse.csr_matrix:
    lengths = [len(v.terms) for v in vectors]
    terms = np.concatenate([v.terms for v in vectors]) if vectors else np.empty(0, np.int64)
    _, columns = np.unique(terms, return_inverse=True)
    pointers = np.concatenate([[0], np.cumsum(lengths)])
    weights = np.concatenate([v.weights for v in vectors]).astype(np.float64) if vectors else np.empty(0)
    return sparse.csr_matrix((weights, columns, pointers), shape=(len(vectors), int(columns.max(initial=-1)) + 1))
