"""A trained model as bytes for the database, and back: numpy arrays in an .npz plus JSON, never pickle.

`np.load(..., allow_pickle=False)` only ever rebuilds plain arrays, so a blob read back from the database
cannot run code even if someone tampered with it; the worst a damaged blob does is fail to load.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import numpy.typing as npt

from services.router.intents.lexical import LexicalFeatures, LexicalState
from services.router.intents.model import Centroids, IntentModel, LinearScores, ModelMismatch
from shared.text.encoders import SentenceEncoder

FORMAT = "firstcall-intent-model"
VERSION = 1


def model_to_bytes(model: IntentModel) -> bytes:
    """The model as a compressed .npz archive (arrays, and a JSON document for names and settings)."""
    state = model.lexical.state()
    linear = model.linear
    header = {
        "format": FORMAT,
        "version": VERSION,
        "intents": model.intents,
        "encoder": model.encoder_name,
        "embedding_weight": linear.embedding_weight,
        "temperature": linear.temperature,
        "min_closeness": model.centroids.min_closeness,
        "word_terms": state.word_terms,
        "char_terms": state.char_terms,
    }
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        header=_json_array(header),
        word_idf=state.word_idf,
        char_idf=state.char_idf,
        lexical_weights=linear.lexical_weights,
        embedding_weights=linear.embedding_weights,
        bias=linear.bias,
        lexical_centroids=model.centroids.lexical,
        embedding_centroids=model.centroids.embedding,
    )
    return buffer.getvalue()


def model_from_bytes(blob: bytes, *, encoder: SentenceEncoder | None) -> IntentModel:
    """The model `model_to_bytes` wrote; the encoder must be the one it was trained with (or None)."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelMismatch(f"not an intent model: {exc}") from exc
    header = _header(arrays)
    lexical = LexicalFeatures.from_state(
        LexicalState(
            word_terms=list(header["word_terms"]),
            word_idf=_array(arrays, "word_idf", np.float64),
            char_terms=list(header["char_terms"]),
            char_idf=_array(arrays, "char_idf", np.float64),
        )
    )
    scores = LinearScores(
        lexical_weights=_array(arrays, "lexical_weights", np.float32),
        embedding_weights=_array(arrays, "embedding_weights", np.float32),
        bias=_array(arrays, "bias", np.float32),
        embedding_weight=float(header["embedding_weight"]),
        temperature=float(header["temperature"]),
    )
    centroids = Centroids(
        lexical=_array(arrays, "lexical_centroids", np.float32),
        embedding=_array(arrays, "embedding_centroids", np.float32),
        min_closeness=float(header["min_closeness"]),
    )
    intents = [str(intent) for intent in header["intents"]]
    return IntentModel(
        intents=intents,
        lexical=lexical,
        scores=scores,
        centroids=centroids,
        encoder=encoder,
        encoder_name=header["encoder"],
    )


def _json_array(document: dict[str, Any]) -> npt.NDArray[np.uint8]:
    return np.frombuffer(json.dumps(document, ensure_ascii=False).encode(), dtype=np.uint8)


def _header(arrays: dict[str, npt.NDArray[Any]]) -> dict[str, Any]:
    try:
        header: dict[str, Any] = json.loads(_array(arrays, "header", np.uint8).tobytes())
    except json.JSONDecodeError as exc:
        raise ModelMismatch(f"the model's header is not JSON: {exc}") from exc
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ModelMismatch(f"unsupported model format {header.get('format')} v{header.get('version')}")
    return header


def _array(arrays: dict[str, npt.NDArray[Any]], name: str, dtype: type[np.generic]) -> npt.NDArray[Any]:
    if name not in arrays or arrays[name].dtype != dtype:
        raise ModelMismatch(f"the model has no {np.dtype(dtype).name} array {name!r}")
    return arrays[name]
