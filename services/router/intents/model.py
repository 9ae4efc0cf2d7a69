"""A trained intent model: lexical and (optionally) sentence-embedding features, one linear score per intent."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from services.router.intents.calibration import softmax
from services.router.intents.lexical import LexicalFeatures
from shared.text.encoders import SentenceEncoder

ALTERNATIVES = 3


@dataclass(frozen=True)
class Classification:
    intent: str | None  # None when the confidence is below the threshold: "unknown"
    confidence: float  # calibrated: about this share of answers given at this confidence are right
    alternatives: list[tuple[str, float]]  # the best intents, best first, with their confidence


class ModelMismatch(ValueError):
    """A model cannot run here: it was trained with another sentence encoder, or the model is damaged."""


@dataclass(frozen=True)
class LinearScores:
    """Scores = lexical @ lexical_weights + embedding_weight * embedding @ embedding_weights + bias.

    Weights are stored features x intents, C-ordered: a sparse row times them then reads contiguous rows,
    where the transposed layout would make scipy copy the whole matrix on every call.
    """

    lexical_weights: npt.NDArray[np.float32]  # lexical features x intents
    embedding_weights: npt.NDArray[np.float32]  # encoder dimension (0 without an encoder) x intents
    bias: npt.NDArray[np.float32]  # intents
    embedding_weight: float  # how much the embedding block counts against the TF-IDF block
    temperature: float  # multiplier of scores before the softmax (see calibration)


@dataclass(frozen=True)
class Centroids:
    """Each intent's mean feature row, unit length, split like the weights; and how close is close enough.

    A linear model must pick one of the intents it knows, even for "tell me a joke". A text whose cosine
    to every intent's centroid is below `min_closeness` is like none of the examples: it is unknown.
    """

    lexical: npt.NDArray[np.float32]  # lexical features x intents
    embedding: npt.NDArray[np.float32]  # encoder dimension x intents
    min_closeness: float


class IntentModel:
    """Classifies texts; read-only once built, so one instance serves every request of a process."""

    def __init__(
        self,
        *,
        intents: list[str],
        lexical: LexicalFeatures,
        scores: LinearScores,
        centroids: Centroids,
        encoder: SentenceEncoder | None,
        encoder_name: str | None,
    ) -> None:
        if (encoder.name if encoder else None) != encoder_name:
            found = encoder.name if encoder else "no encoder"
            raise ModelMismatch(f"the model needs the sentence encoder {encoder_name or 'none'}, not {found}")
        expected = (lexical.size, len(intents))
        embedding = ((encoder.dimension if encoder else 0), len(intents))
        shapes = {scores.lexical_weights.shape, centroids.lexical.shape}
        embedding_shapes = {scores.embedding_weights.shape, centroids.embedding.shape}
        if shapes != {expected} or embedding_shapes != {embedding} or scores.bias.shape != (len(intents),):
            raise ModelMismatch(f"weights of shapes {shapes | embedding_shapes} do not fit {expected}, {embedding}")
        self.intents, self.lexical, self.linear, self.centroids = intents, lexical, scores, centroids
        self.encoder, self.encoder_name = encoder, encoder_name

    def probabilities(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        """Calibrated probabilities (a row per text, a column per intent) and each text's best closeness."""
        lexical, embedded = self.features(texts)
        scores = _product(lexical, embedded, self.linear.lexical_weights, self.linear.embedding_weights)
        cosines = _product(lexical, embedded, self.centroids.lexical, self.centroids.embedding)
        norms = np.sqrt(np.asarray(lexical.multiply(lexical).sum(axis=1)).ravel() + (embedded**2).sum(axis=1))
        closeness = cosines.max(axis=1) / np.maximum(norms, np.float32(1e-12))
        return softmax(scores + self.linear.bias, self.linear.temperature), closeness.astype(np.float32)

    def features(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, npt.NDArray[np.float32]]:
        """The TF-IDF rows and the weighted embedding rows (no columns without an encoder) of texts."""
        if self.encoder is None:
            return self.lexical.transform(texts), np.zeros((len(texts), 0), dtype=np.float32)
        embedded = self.encoder.encode(texts) * np.float32(self.linear.embedding_weight)
        return self.lexical.transform(texts), embedded

    def classify(self, text: str, *, threshold: float) -> Classification:
        """The intent of one text, or `unknown` (None) when the best confidence is below the threshold.

        `classify_many`'s arithmetic on one dense row: the hot path classifies one ticket at a time, where
        sparse matrices cost more to build than to multiply.
        """
        columns, values = self.lexical.transform_one(text)
        scores = values @ self.linear.lexical_weights[columns]
        cosines = values @ self.centroids.lexical[columns]
        norm = float(values @ values)
        if self.encoder is not None:
            embedded = self.encoder.encode([text])[0] * np.float32(self.linear.embedding_weight)
            scores += embedded @ self.linear.embedding_weights
            cosines += embedded @ self.centroids.embedding
            norm += float(embedded @ embedded)
        probabilities = softmax((scores + self.linear.bias)[np.newaxis, :], self.linear.temperature)[0]
        closeness = float(cosines.max()) / max(math.sqrt(norm), 1e-12)
        return self._answer(probabilities, closeness, threshold)

    def classify_many(self, texts: Sequence[str], *, threshold: float) -> list[Classification]:
        """`classify` for several texts at once (the same answers, fewer calls)."""
        probabilities, closeness = self.probabilities(texts)
        return [self._answer(row, float(close), threshold) for row, close in zip(probabilities, closeness, strict=True)]

    def _answer(self, row: npt.NDArray[np.float64], closeness: float, threshold: float) -> Classification:
        order = np.argsort(-row, kind="stable")[:ALTERNATIVES]
        ranked = [(self.intents[i], round(float(row[i]), 4)) for i in order]
        answered = ranked[0][1] >= threshold and closeness >= self.centroids.min_closeness
        return Classification(ranked[0][0] if answered else None, ranked[0][1], ranked)


def _product(
    lexical: sp.csr_matrix,
    embedded: npt.NDArray[np.float32],
    lexical_columns: npt.NDArray[np.float32],
    embedding_columns: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    product = np.asarray(lexical @ lexical_columns, dtype=np.float32)
    if embedded.shape[1]:
        product += embedded @ embedding_columns
    return product
