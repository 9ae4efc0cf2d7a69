"""Intent classification: which need a ticket's text expresses, with a calibrated confidence, or unknown.

    encoder = load_encoder("wordllama")               # or "minilm", or "none"; cached per process
    model = train_model(examples=[("my card has not arrived", "card_arrival"), ...], encoder=encoder)
    blob = model_to_bytes(model)                      # store it; every replica loads it
    model = model_from_bytes(blob, encoder=encoder)   # the same encoder (or None) as in training
    model.classify("where is my new card?", threshold=0.5)

The encoder is optional: without it the model uses word and character TF-IDF only (no extra packages);
with one, sentence embeddings join the same linear model (BANKING77 test accuracy: TF-IDF only 91.0%,
with WordLlama 93.0%, with MiniLM 93.8%; bench/intents.py measures them).
"""

from services.router.intents.model import Classification, IntentModel, ModelMismatch
from services.router.intents.serialization import model_from_bytes, model_to_bytes
from services.router.intents.training import MIN_INTENTS, TrainingError, TrainingOptions, train_model
from shared.text.encoders import (
    EncoderUnavailable,
    MiniLMEncoder,
    SentenceEncoder,
    WordLlamaEncoder,
    load_encoder,
)

__all__ = [
    "MIN_INTENTS",
    "Classification",
    "EncoderUnavailable",
    "IntentModel",
    "MiniLMEncoder",
    "ModelMismatch",
    "SentenceEncoder",
    "TrainingError",
    "TrainingOptions",
    "WordLlamaEncoder",
    "load_encoder",
    "model_from_bytes",
    "model_to_bytes",
    "train_model",
]
