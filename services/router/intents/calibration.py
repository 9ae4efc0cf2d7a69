"""Turning a linear model's scores into confidences that mean what they say.

A linear SVM's scores rank intents well but are not probabilities. One temperature, fitted on scores the
model gave to examples it had not seen (out-of-fold), maps them through a softmax so that among tickets
answered with confidence 0.8 about 80% are right; a threshold on it then trades coverage for accuracy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar

# Used when a corpus is too small to hold examples out (an intent with a single example): moderate.
DEFAULT_TEMPERATURE = 5.0
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 200.0


def softmax(scores: npt.NDArray[np.float32], temperature: float) -> npt.NDArray[np.float64]:
    """Each row of scores as probabilities; a higher temperature here means sharper (scores are multiplied)."""
    scaled = np.asarray(scores, dtype=np.float64) * temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    probabilities: npt.NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return probabilities


def fit_temperature(scores: npt.NDArray[np.float32], truth: npt.NDArray[np.int64]) -> float:
    """The multiplier of scores that minimises the log-loss of the true intents (held-out scores only)."""
    rows = np.arange(len(truth))

    def log_loss(log_temperature: float) -> float:
        probabilities = softmax(scores, float(np.exp(log_temperature)))
        return float(-np.log(np.maximum(probabilities[rows, truth], 1e-12)).mean())

    result = minimize_scalar(log_loss, bounds=(np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)), method="bounded")
    return float(np.exp(result.x))


def fold_assignments(labels: npt.NDArray[np.int64], folds: int, seed: int) -> npt.NDArray[np.int64]:
    """A fold number per example, each intent's examples dealt round-robin so every fold sees every intent."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        assignment[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return assignment
