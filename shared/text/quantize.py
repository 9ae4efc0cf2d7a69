"""Quantizing the MiniLM ONNX graph to int8, run as a child process: `python quantize.py SOURCE TARGET`.

Quantization reads the whole float32 graph (90 MB) into Python objects, and a process seldom gives such
memory back to the system. Done in a short-lived child, only the 23 MB int8 graph reaches the service:
a router replica grows by about 45 MB instead of 200. The script imports nothing of the project, so it
runs by path whether or not the project is installed.
"""

from __future__ import annotations

import importlib
import logging
import sys
import tempfile
from pathlib import Path


def quantize(source: Path, target: Path) -> None:
    """Write to `target` the graph of `source` with its matrix products quantized to int8, per channel."""
    ort = importlib.import_module("onnxruntime")
    quantization = importlib.import_module("onnxruntime.quantization")
    with tempfile.TemporaryDirectory(prefix="firstcall-minilm-") as work:
        optimized = Path(work) / "optimized.onnx"
        # Fold the package's weight-only int8 (dequantized at every run) into float32, fuse attention and
        # layer norm, then quantize the matrix products for real; "extended" fusions are portable CPU ones.
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(optimized)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quantization.quantize_dynamic(
            str(optimized),
            str(target),
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            # 7-bit weights: full-range ones overflow onnxruntime's 16-bit pair sums on x86 CPUs without
            # VNNI (build_mpnet.py says more); the service checks the result against float32 anyway.
            reduce_range=True,
        )


def main(argv: list[str]) -> int:
    from shared.children import die_with_parent_from_environment  # noqa: PLC0415 (the script stays importable alone)

    die_with_parent_from_environment()  # a service killed mid-build must not leave a 2.5 GB build running
    if len(argv) != 3:
        print("usage: quantize.py SOURCE.onnx TARGET.onnx", file=sys.stderr)
        return 2
    # onnxruntime advises its own pre-processing on the root logger; the optimization above is ours.
    logging.disable(logging.WARNING)
    quantize(Path(argv[1]), Path(argv[2]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
