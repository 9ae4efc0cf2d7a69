"""The seam between the router and its intent model: train from examples, serialise, classify.

Everything model-specific lives behind these three functions, so the model can change without the
storage, the API or the routing noticing.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

MIN_INTENTS = 2


@dataclass(frozen=True)
class Classification:
    intent: str | None  # None below the confidence threshold: "unknown"
    confidence: float
    alternatives: list[tuple[str, float]]


class TrainingError(ValueError):
    """The examples cannot make a model (too few intents, empty texts)."""


class IntentModelRuntime:
    """A trained model ready to classify (read-only, shared by every request of a process)."""

    def __init__(self, vectorizer: TfidfVectorizer, model: LogisticRegression) -> None:
        self._vectorizer, self._model = vectorizer, model
        self.intents: list[str] = [str(label) for label in model.classes_]

    def classify(self, text: str, threshold: float) -> Classification:
        scores = self._model.predict_proba(self._vectorizer.transform([text]))[0]
        order = np.argsort(scores)[::-1][:3]
        ranked = [(self.intents[i], round(float(scores[i]), 4)) for i in order]
        intent, confidence = ranked[0]
        return Classification(intent if confidence >= threshold else None, confidence, ranked)


def train(examples: Sequence[tuple[str, str]]) -> bytes:
    """A serialised model trained on (text, intent) pairs; runs in a worker process."""
    texts = [text.strip() for text, _ in examples]
    labels = [intent for _, intent in examples]
    if any(not text for text in texts):
        raise TrainingError("every example needs a text")
    if len(set(labels)) < MIN_INTENTS:
        raise TrainingError(f"need examples of at least {MIN_INTENTS} intents")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(features, labels)
    return _dump(vectorizer, model)


def load(blob: bytes) -> IntentModelRuntime:
    """A model back from `train`'s bytes."""
    # Safe to unpickle: the blob was produced by `train` in our own worker and stored in our own database.
    vectorizer, model = pickle.loads(blob)
    return IntentModelRuntime(vectorizer, model)


def _dump(vectorizer: TfidfVectorizer, model: LogisticRegression) -> bytes:
    buffer = io.BytesIO()
    pickle.dump((vectorizer, model), buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()
