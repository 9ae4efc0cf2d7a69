"""The seam between the router and its intent model: train from examples, serialise, classify.

The model itself lives in `services/router/intents` (word and character TF-IDF plus sentence embeddings
from a package that ships its weights, in one calibrated linear model); this module only adapts it to how
the router stores and loads models. Which encoder is set by FIRSTCALL_ROUTER_INTENT_ENCODER.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.router.intents import (
    MIN_INTENTS,
    Classification,
    IntentModel,
    TrainingError,
    load_encoder,
    model_from_bytes,
    model_to_bytes,
    train_model,
)

__all__ = ["MIN_INTENTS", "Classification", "IntentModel", "TrainingError", "load", "train"]


def train(examples: Sequence[tuple[str, str]], encoder: str) -> bytes:
    """A serialised model trained on (text, intent) pairs; runs in a worker process (CPU-bound)."""
    return model_to_bytes(train_model(examples=examples, encoder=load_encoder(encoder)))


def load(blob: bytes, encoder: str) -> IntentModel:
    """A stored model, ready to classify (loading MiniLM takes seconds: call it off the event loop)."""
    return model_from_bytes(blob, encoder=load_encoder(encoder))
