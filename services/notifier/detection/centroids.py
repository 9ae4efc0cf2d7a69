"""The map of meaning: K centroids learned from an organisation's own reports (spherical k-means).

Reports about one thing sit close together on the unit sphere; a centroid stands for such a region.
Posting each report under its nearest centroid and searching the few centroids nearest a new report
finds paraphrases that share no word, while reading a bounded slice of the window (an IVF index). The
centroids follow what this organisation's customers write, which fixed random hyperplanes would not:
they spread the buckets where the reports are dense.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

# Past MAX_BUCKETS, learning and re-filling the index would cost minutes.
MAX_BUCKETS = 1024
SAMPLE_PER_BUCKET = 40  # reports learned from per centroid (k-means needs tens per cluster)
ITERATIONS = 12
CHUNK = 4096  # rows compared with every centroid at once: bounds the memory of a pass


def buckets_for(reports: int, per_bucket: int) -> int:
    """How many centroids suit a window of this many reports (1: search it whole).

    About `per_bucket` reports a bucket: a probe of the newest postings of a few buckets then covers
    days of a busy one."""
    return int(min(MAX_BUCKETS, max(1, reports // per_bucket)))


def nearest(units: NDArray[np.float32], centroids: NDArray[np.float32]) -> NDArray[np.int64]:
    """The bucket of each row: its most similar centroid."""
    assigned = np.empty(len(units), np.int64)
    for start in range(0, len(units), CHUNK):
        assigned[start : start + CHUNK] = np.argmax(units[start : start + CHUNK] @ centroids.T, axis=1)
    return assigned


def ranked(unit: NDArray[np.float32], centroids: NDArray[np.float32], count: int) -> list[int]:
    """The `count` buckets nearest to one vector, nearest first."""
    return best(centroids @ unit, count)


def best(scores: NDArray[np.float32], count: int) -> list[int]:
    """The `count` buckets of highest score (a vector's similarity to each centroid), highest first."""
    count = min(count, len(scores))
    top = np.argpartition(-scores, count - 1)[:count]
    return [int(bucket) for bucket in top[np.argsort(-scores[top], kind="stable")]]


def learn(units: NDArray[np.float32], k: int, *, seed: int = 0) -> NDArray[np.float32]:
    """K unit centroids of the rows (spherical k-means from a random start; empty ones re-seeded)."""
    rng = np.random.default_rng(seed)
    units = _normalised(units.astype(np.float32, copy=False))
    k = min(k, len(units))
    centroids = units[rng.choice(len(units), k, replace=False)].copy()
    for _ in range(ITERATIONS):
        assigned = nearest(units, centroids)
        members = sparse.csr_matrix(
            (np.ones(len(units), np.float32), (assigned, np.arange(len(units)))), (k, len(units))
        )
        sums = np.asarray(members @ units, np.float32)
        counts = np.bincount(assigned, minlength=k)
        empty = np.flatnonzero(counts == 0)
        sums[empty] = units[rng.choice(len(units), len(empty), replace=False)]
        centroids = _normalised(sums)
    return centroids


def to_bytes(centroids: NDArray[np.float32]) -> bytes:
    return centroids.astype("<f2").tobytes()


def from_bytes(blob: bytes, dimension: int) -> NDArray[np.float32]:
    return np.frombuffer(blob, "<f2").reshape(-1, dimension).astype(np.float32)


def _normalised(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, 1e-12), np.float32)
