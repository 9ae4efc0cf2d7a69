"""Scoring clusters against labelled threads: pairwise precision, recall and F1, and an honest choice of
settings by cross-validation over threads.

Pairwise: every pair of reports is either in one cluster or not, and either from one thread or not;
precision = pairs put together that belong together / pairs put together, recall = / pairs that belong
together.

Cross-validation: threads are dealt into FOLDS folds (by id). For each fold, the setting (threshold, or
weight and threshold) is the one with the best F1 on the pairs of the *other* folds' reports only, and is
scored on the pairs that involve this fold's reports (a pair across two folds counts half in each, so
the pooled counts cover every pair once). The clustering itself is unsupervised and runs on all reports;
only the choice of setting sees labels, and never those it is scored on.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

FOLDS = 5
Setting = TypeVar("Setting", bound=Hashable)


@dataclass(frozen=True)
class PairScore:
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, together_right: float, together: float, belong: float) -> PairScore:
        precision = together_right / together if together else 0.0
        recall = together_right / belong if belong else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1)


@dataclass(frozen=True)
class CrossValidated(Generic[Setting]):
    score: PairScore
    chosen: list[Setting]  # the setting chosen for each fold


class Pairs:
    """The pairs of a labelled set of reports, and how a clustering of them scores."""

    def __init__(self, threads: Sequence[int]) -> None:
        labels = np.asarray(threads)
        self.upper = np.triu_indices(len(labels), 1)
        self.belong = self._pairs(labels)
        folds = labels % FOLDS
        self.fold_i, self.fold_j = folds[self.upper[0]], folds[self.upper[1]]

    def score(self, clusters: Sequence[str], weights: NDArray[np.float64] | None = None) -> PairScore:
        together = self._pairs(np.asarray([hash(c) for c in clusters]))
        w = np.ones(len(together)) if weights is None else weights
        return PairScore.of(
            float(w[together & self.belong].sum()), float(w[together].sum()), float(w[self.belong].sum())
        )

    def cross_validate(self, runs: Mapping[Setting, Sequence[str]]) -> CrossValidated[Setting]:
        """Choose a setting per fold on the other folds, score it on this one, pool the counts."""
        right = together = belong = 0.0
        chosen: list[Setting] = []
        for fold in range(FOLDS):
            training = ((self.fold_i != fold) & (self.fold_j != fold)).astype(np.float64)
            best = max(runs, key=lambda setting: self.score(runs[setting], training).f1)
            chosen.append(best)
            testing = ((self.fold_i == fold).astype(np.float64) + (self.fold_j == fold)) / 2
            pairs = self._pairs(np.asarray([hash(c) for c in runs[best]]))
            right += float(testing[pairs & self.belong].sum())
            together += float(testing[pairs].sum())
            belong += float(testing[self.belong].sum())
        return CrossValidated(PairScore.of(right, together, belong), chosen)

    def _pairs(self, labels: NDArray[np.int64]) -> NDArray[np.bool_]:
        return np.asarray(labels[self.upper[0]] == labels[self.upper[1]])
