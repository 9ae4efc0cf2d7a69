"""bench.vegeta: vegeta's CSV results become a LoadResult (no vegeta binary needed)."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import orjson
import pytest

from bench.load import CpuUsage, Phase, Request
from bench.vegeta import attack_arguments, error_kind, parse_results, target_count, write_targets

CPU = CpuUsage(seconds=2.0, client=0.1, server=0.8, stack=0.3, machine=1.3)
START = 1_795_416_490_000_000_000  # unix ns
MS = 1_000_000


def line(sent_ms: float, code: int, latency_ms: float, error: str = "") -> str:
    """One line of `vegeta encode --to csv`: timestamp, code, latency, bytes out, bytes in, error, body, ..."""
    out = io.StringIO()
    sent, latency = START + round(sent_ms * MS), round(latency_ms * MS)
    csv.writer(out, lineterminator="\n").writerow([sent, code, latency, 271, 0, error, "", "", 0, "POST", "/x", ""])
    return out.getvalue()


def test_results_become_a_load_result() -> None:
    phase = Phase.closed(concurrency=32, duration=2.0, warmup=0.5)
    lines = [
        line(0, 201, 4.0),
        line(1, 201, 1.0),
        line(2, 201, 3.0),
        line(3, 503, 2.0, "503 Service Unavailable"),
        line(4, 0, 5000.0, 'Post "http://h/v1/tickets": context deadline exceeded (Client.Timeout exceeded)'),
        line(5, 0, 0.5, 'Post "http://127.0.0.1:1/v1/tickets": dial tcp 127.0.0.1:1: connect: connection refused'),
        line(1990, 200, 10.0),
    ]

    result = parse_results(lines, phase, CPU)

    assert result.sent == 7
    assert result.ok == 4
    assert result.errors == {
        "HTTP 503": 1,
        "timeout": 1,
        "dial tcp 127.0.0.1:1: connect: connection refused": 1,
    }
    assert result.latencies_ms == [0.5, 1.0, 2.0, 3.0, 4.0, 10.0, 5000.0]
    assert result.percentile(50) == 3.0
    assert result.percentile(100) == 5000.0
    # The last success arrived at 2.000 s after the first send: the window is the longer of it and 2 s.
    assert result.window == pytest.approx(2.0)
    assert result.throughput == pytest.approx(4 / 2.0)
    assert result.cpu is CPU


def test_a_server_that_falls_behind_gets_no_credit_for_late_answers() -> None:
    phase = Phase.open(rate=500, duration=2.0, warmup=0.5)
    lines = [line(0, 201, 1.0), line(1999, 201, 2001.0), line(1000, 0, 5000.0, "net/http: timeout awaiting")]

    result = parse_results(lines, phase, CPU)

    # Last success at 1.999 + 2.001 = 4.0 s after the first send; a timeout's end does not stretch it.
    assert result.window == pytest.approx(4.0)
    assert result.throughput == pytest.approx(2 / 4.0)
    assert result.errors == {"net/http: timeout awaiting": 1}


def test_no_results() -> None:
    result = parse_results([], Phase.open(rate=200, duration=2.0, warmup=0.5), CPU)
    assert (result.sent, result.ok, result.throughput, result.window) == (0, 0, 0.0, 2.0)


@pytest.mark.parametrize(
    ("code", "error", "kind"),
    [
        (201, "", None),
        (204, "", None),
        (302, "", "HTTP 302"),
        (429, "429 Too Many Requests", "HTTP 429"),
        (
            0,
            'Post "http://h/x": net/http: request canceled (Client.Timeout exceeded while awaiting headers)',
            "timeout",
        ),
        (0, 'Post "http://h/x": read tcp 1.2.3.4:5->1.2.3.4:6: i/o timeout', "timeout"),
        (0, "no targets to attack", "no targets to attack"),
        (0, "", "no answer"),
    ],
)
def test_error_kind(code: int, error: str, kind: str | None) -> None:
    assert error_kind(code, error) == kind


def test_targets_are_one_per_request(tmp_path: Path) -> None:
    def make(n: int) -> Request:
        return Request("POST", "/v1/tickets", {"idempotency-key": f"k-{n}"}, b'{"n": %d}' % n)

    path = tmp_path / "targets.jsonl"
    write_targets(path, "http://127.0.0.1:8000", make, 3, first=5)

    targets = [orjson.loads(raw) for raw in path.read_bytes().splitlines()]
    assert [t["header"]["idempotency-key"] for t in targets] == [["k-5"], ["k-6"], ["k-7"]]
    assert targets[0]["url"] == "http://127.0.0.1:8000/v1/tickets"
    assert base64.b64decode(targets[2]["body"]) == b'{"n": 7}'


def test_attack_arguments_closed_and_open(tmp_path: Path) -> None:
    closed = Phase.closed(concurrency=32, duration=2.0, warmup=0.5)
    opened = Phase.open(rate=500, duration=10.0, warmup=1.0)
    binary, targets, results = tmp_path / "vegeta", tmp_path / "t.jsonl", tmp_path / "r.bin"

    closed_args = attack_arguments(binary, closed, 0.5, targets, results)
    open_args = attack_arguments(binary, opened, 10.0, targets, results)

    assert {"-rate=0", "-workers=32", "-max-workers=32", "-duration=500ms", "-lazy"} <= set(closed_args)
    assert "-rate=500" in open_args
    assert not any(arg.startswith("-max-workers") for arg in open_args)
    assert target_count(opened, 10.0) >= 5000
    assert target_count(closed, 2.0) >= 2 * 9000
