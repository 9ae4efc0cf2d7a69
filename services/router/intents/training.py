"""Training an intent model from labelled examples: validate, featurize, fit, calibrate on held-out scores."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from services.router.intents.calibration import DEFAULT_TEMPERATURE, fit_temperature, fold_assignments
from services.router.intents.lexical import LexicalFeatures
from services.router.intents.model import Centroids, IntentModel, LinearScores
from shared.text.analyser import normalise_values
from shared.text.encoders import SentenceEncoder

MIN_INTENTS = 2
# Fewer held-out examples than this say little about calibration; the default temperature is used instead.
MIN_CALIBRATION_EXAMPLES = 20
# The out-of-scope gate: a text is unknown when it is less close to every intent than this fraction of the
# closeness that all but 5% of genuine held-out examples reach: a wide margin, so that genuine tickets are
# rarely gated (bench/intents.py: "answered at ≥ 0.0") while small talk is ("off-topic unknown").
GATE_QUANTILE, GATE_FRACTION = 0.05, 0.6


class TrainingError(ValueError):
    """The examples cannot make a model (fewer than two intents, empty texts or labels)."""


@dataclass(frozen=True)
class TrainingOptions:
    # Chosen by 5-fold cross-validation on BANKING77's training set (never on its test set).
    regularisation: float = 0.5  # LinearSVC's C: lower fits the examples less closely
    embedding_weight: float = 2.0  # scale of the unit-length embedding against the unit-length TF-IDF rows
    calibration_folds: int = 3
    seed: int = 0


def train_model(
    *,
    examples: Sequence[tuple[str, str]],
    encoder: SentenceEncoder | None = None,
    options: TrainingOptions | None = None,
) -> IntentModel:
    """A calibrated intent model learned from (text, intent) pairs; CPU-bound, run it off the event loop."""
    options = options or TrainingOptions()
    texts, intents, labels = _validated(examples)
    embeddings = encoder.encode(texts) * np.float32(options.embedding_weight) if encoder else None
    temperature, min_closeness = _held_out_calibration(texts, labels, embeddings, options)
    fitted = _fit(texts, labels, len(intents), embeddings, options)
    split = fitted.lexical.size
    scores = LinearScores(
        lexical_weights=np.ascontiguousarray(fitted.weights[:, :split].T),
        embedding_weights=np.ascontiguousarray(fitted.weights[:, split:].T),
        bias=fitted.bias,
        embedding_weight=options.embedding_weight,
        temperature=temperature,
    )
    centroids = Centroids(
        lexical=np.ascontiguousarray(fitted.centroids[:, :split].T),
        embedding=np.ascontiguousarray(fitted.centroids[:, split:].T),
        min_closeness=min_closeness,
    )
    return IntentModel(
        intents=intents,
        lexical=fitted.lexical,
        scores=scores,
        centroids=centroids,
        encoder=encoder,
        encoder_name=encoder.name if encoder else None,
    )


def _validated(examples: Sequence[tuple[str, str]]) -> tuple[list[str], list[str], npt.NDArray[np.int64]]:
    texts, names = [], []
    for number, (text, intent) in enumerate(examples):
        if not normalise_values(text):
            raise TrainingError(f"example {number} has an empty text")
        if not intent.strip():
            raise TrainingError(f"example {number} has an empty intent")
        texts.append(text)
        names.append(intent.strip())
    intents = sorted(set(names))
    if len(intents) < MIN_INTENTS:
        raise TrainingError(f"examples of at least {MIN_INTENTS} intents are needed, got {len(intents)}")
    index = {intent: number for number, intent in enumerate(intents)}
    return texts, intents, np.array([index[name] for name in names], dtype=np.int64)


@dataclass(frozen=True)
class _Fitted:
    lexical: LexicalFeatures
    weights: npt.NDArray[np.float32]  # intents x (lexical + embedding) features
    bias: npt.NDArray[np.float32]
    centroids: npt.NDArray[np.float32]  # same shape as weights, unit rows


def _rows(lexical: LexicalFeatures, texts: list[str], embeddings: npt.NDArray[np.float32] | None) -> sp.csr_matrix:
    features = lexical.transform(texts)
    if embeddings is None:
        return features
    return sp.hstack([features, sp.csr_matrix(embeddings)], format="csr")


def _fit(
    texts: list[str],
    labels: npt.NDArray[np.int64],
    intents: int,
    embeddings: npt.NDArray[np.float32] | None,
    options: TrainingOptions,
) -> _Fitted:
    try:
        lexical = LexicalFeatures.fit(texts)
    except ValueError as exc:  # scikit-learn's "empty vocabulary"
        raise TrainingError(f"the examples have no words to learn from: {exc}") from exc
    features = _rows(lexical, texts, embeddings)
    svm = LinearSVC(C=options.regularisation, random_state=options.seed)
    with warnings.catch_warnings():
        # An iteration cap reached on a tiny corpus still leaves a usable separator.
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm.fit(features, labels)
    weights = np.zeros((intents, features.shape[1]), dtype=np.float32)
    bias = np.full(intents, -np.float32(1e3), dtype=np.float32)  # an intent absent from a fold never wins
    present = svm.classes_.astype(np.int64)
    if len(present) == 2:  # scikit-learn's binary case: one separator, positive for the second class
        weights[present] = np.vstack([-svm.coef_[0], svm.coef_[0]])
        bias[present] = [-svm.intercept_[0], svm.intercept_[0]]
    else:
        weights[present], bias[present] = svm.coef_, svm.intercept_
    centroids = np.zeros_like(weights)
    for label in present:
        centroids[label] = np.asarray(features[labels == label].mean(axis=0)).ravel()
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), np.float32(1e-12))
    return _Fitted(lexical, weights, bias, centroids)


def _held_out_calibration(
    texts: list[str],
    labels: npt.NDArray[np.int64],
    embeddings: npt.NDArray[np.float32] | None,
    options: TrainingOptions,
) -> tuple[float, float]:
    """The softmax temperature and the out-of-scope gate, from examples each fold's model did not see."""
    intents = int(labels.max()) + 1
    folds = fold_assignments(labels, options.calibration_folds, options.seed)
    scores, truth, closeness = [], [], []
    for fold in range(options.calibration_folds):
        held, kept = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        # Only intents the fold's model learned can be judged; a single-example intent has none left.
        held = held[np.isin(labels[held], labels[kept])]
        if len(held) == 0 or len(np.unique(labels[kept])) < MIN_INTENTS:
            continue
        part = embeddings[kept] if embeddings is not None else None
        fitted = _fit([texts[i] for i in kept], labels[kept], intents, part, options)
        rows = _rows(fitted.lexical, [texts[i] for i in held], embeddings[held] if embeddings is not None else None)
        scores.append(np.asarray(rows @ fitted.weights.T, dtype=np.float32) + fitted.bias)
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
        closeness.append(np.asarray(rows @ fitted.centroids.T).max(axis=1) / np.maximum(norms, 1e-12))
        truth.append(labels[held])
    if sum(len(t) for t in truth) < MIN_CALIBRATION_EXAMPLES:
        return DEFAULT_TEMPERATURE, 0.0
    gate = GATE_FRACTION * float(np.quantile(np.concatenate(closeness), GATE_QUANTILE))
    return fit_temperature(np.vstack(scores), np.concatenate(truth)), gate
