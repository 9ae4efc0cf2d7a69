"""vegeta (Go, github.com/tsenart/vegeta) as a load generator, for benches whose server outruns `bench.load`.

`bench.load` (Python, httpx) costs about 1.7 ms of CPU per request and tops out near 700 requests/s on
our 2-core machine: enough for the router, not for a bare FastAPI app (about 7,000/s at 0.13 ms of server
CPU each). vegeta costs a small fraction of that, so what it measures is the server.

- **closed loop** (`Phase.closed`): `-rate=0 -workers=N -max-workers=N`, N workers each sending the next
  request when the previous one is answered.
- **open loop** (`Phase.open`): `-rate=R`; vegeta adds workers whenever none is free, so requests leave on
  schedule whatever the server does (no coordinated omission). A latency runs from vegeta's send time.

Every request is a target line of its own (`write_targets`), read lazily (`-lazy`): vegeta never loops over
them, and stops (`ExhaustedTargets`) rather than send one twice. A phase is a warm-up attack whose results
are discarded, then the measured attack; its results become a `bench.load.LoadResult` (`parse_results`),
with the CPU that the servers, vegeta itself (its rusage), PostgreSQL + Kafka and the machine used while
the measured attack ran.
"""

from __future__ import annotations

import base64
import csv
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.load import (
    CpuUsage,
    LoadResult,
    Phase,
    RequestFactory,
    machine_busy_seconds,
    process_cpu_seconds,
    stack_cpu_seconds,
)

MODULE = "github.com/tsenart/vegeta/v12"
VERSION = "v12.13.0"  # the Makefile's `var/bin/vegeta` target builds this version too
ROOT = Path(__file__).resolve().parents[1]
LOCAL_BINARY = ROOT / "var" / "bin" / "vegeta"
GO_FALLBACKS = (Path("/usr/local/go/bin/go"),)  # where the official Go tarball installs, often not on PATH
# Closed loop: targets written per second of attack, above what any server here answers (the bare baseline
# does about 7,300/s). Open loop: the rate times the duration, plus this margin.
CLOSED_TARGETS_PER_SECOND = 12_000
OPEN_TARGETS_MARGIN = 1.02
NO_TARGETS = "no targets to attack"  # vegeta's error once a lazy target file is exhausted
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})


class ExhaustedTargets(RuntimeError):
    """vegeta ran out of targets before the attack's end: the figures would be those of a shorter attack."""


# ---------------------------------------------------------------------------------------------- the binary


def _go() -> Path | None:
    found = shutil.which("go")
    if found is not None:
        return Path(found)
    return next((go for go in GO_FALLBACKS if os.access(go, os.X_OK)), None)


def install(destination: Path = LOCAL_BINARY) -> Path:
    """Build vegeta `VERSION` with `go install` into `destination`'s folder (about 20 s the first time)."""
    go = _go()
    if go is None:
        raise RuntimeError(
            f"vegeta {VERSION} is needed (the load generator of ticket_open) and neither vegeta (on PATH or "
            f"{destination}) nor Go is installed. Install Go 1.22 or later (https://go.dev/dl/, or your "
            f"distribution's `golang` package) and run `make {destination.relative_to(ROOT)}`, or put a vegeta "
            f"{VERSION} binary on PATH (https://github.com/tsenart/vegeta/releases)."
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(destination.parent)}
    built = subprocess.run(
        [str(go), "install", f"{MODULE}@{VERSION}"], env=env, capture_output=True, text=True, check=False
    )
    if built.returncode != 0 or not destination.exists():
        raise RuntimeError(f"`go install {MODULE}@{VERSION}` failed ({built.returncode}):\n{built.stderr[-3000:]}")
    return destination


def find() -> Path:
    """vegeta on PATH, else `var/bin/vegeta`, else built there now."""
    on_path = shutil.which("vegeta")
    if on_path is not None:
        return Path(on_path)
    if os.access(LOCAL_BINARY, os.X_OK):
        return LOCAL_BINARY
    return install()


def version(binary: Path) -> str:
    """The binary's vegeta version: from its Go build information, else from `vegeta -version`."""
    go = _go()
    if go is not None:
        info = subprocess.run([str(go), "version", "-m", str(binary)], capture_output=True, text=True, check=False)
        for line in info.stdout.splitlines():
            fields = line.split()
            if fields[:2] == ["mod", MODULE] and len(fields) >= 3:
                return fields[2]
    shown = subprocess.run([str(binary), "-version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"^Version:[ \t]*(\S+)", shown, re.MULTILINE)
    return match.group(1) if match else "(version unknown)"


# ---------------------------------------------------------------------------------------------- targets


def target_count(phase: Phase, seconds: float) -> int:
    """Targets enough for `seconds` of `phase`'s attack without reusing one."""
    if phase.mode == "closed":
        return round(CLOSED_TARGETS_PER_SECOND * seconds)
    return round(phase.rate * seconds * OPEN_TARGETS_MARGIN) + 100


def write_targets(path: Path, base_url: str, make: RequestFactory, count: int, *, first: int = 0) -> None:
    """vegeta's JSON target lines for requests `first` .. `first + count - 1` of `make`."""
    dumps, encode = orjson.dumps, base64.b64encode
    with path.open("wb") as out:
        for n in range(first, first + count):
            request = make(n)
            target: dict[str, object] = {
                "method": request.method,
                "url": base_url + request.path,
                "header": {name: [value] for name, value in request.headers.items()},
            }
            if request.content is not None:
                target["body"] = encode(request.content).decode()
            out.write(dumps(target) + b"\n")


# ---------------------------------------------------------------------------------------------- results


def error_kind(code: int, error: str) -> str | None:
    """None for a 2xx; `HTTP 503` for another status; `timeout`; else the transport error without its
    `Post "url": ` prefix (so the same failure counts as one kind)."""
    if 200 <= code < 300:
        return None
    if code != 0:
        return f"HTTP {code}"
    if "Client.Timeout exceeded" in error or "deadline exceeded" in error or "i/o timeout" in error:
        return "timeout"
    return re.sub(r'^[A-Za-z]+ "[^"]*": ', "", error) or "no answer"


def parse_results(lines: Iterable[str], phase: Phase, cpu: CpuUsage) -> LoadResult:
    """A measured attack's results, as `vegeta encode --to csv` writes them (timestamp ns, code, latency ns,
    bytes out, bytes in, error, ...), with the CPU used meanwhile.

    The window starts at the first send; the throughput is the successful answers over the phase's duration,
    or over the time until the last of them arrived when that is longer."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ok = 0
    start: int | None = None
    last_ok = 0
    for row in csv.reader(lines):
        if not row:
            continue
        sent_at, code, latency = int(row[0]), int(row[1]), int(row[2])
        start = sent_at if start is None else min(start, sent_at)
        latencies.append(latency / 1e6)
        kind = error_kind(code, row[5])
        if kind is None:
            ok += 1
            last_ok = max(last_ok, sent_at + latency)
        else:
            errors[kind] += 1
    window = phase.duration if start is None else max(phase.duration, (last_ok - start) / 1e9)
    return LoadResult(
        phase=phase,
        window=window,
        sent=len(latencies),
        ok=ok,
        errors=dict(errors),
        throughput=ok / window,
        latencies_ms=sorted(latencies),
        cpu=cpu,
    )


# ---------------------------------------------------------------------------------------------- attacks


@dataclass(frozen=True)
class Attack:
    """One vegeta run and the CPU used while it ran."""

    results: Path
    cpu: CpuUsage


def attack_arguments(binary: Path, phase: Phase, seconds: float, targets: Path, results: Path) -> list[str]:
    arguments = [
        str(binary),
        "attack",
        "-format=json",
        "-lazy",
        f"-targets={targets}",
        f"-duration={round(seconds * 1000)}ms",
        f"-timeout={round(phase.timeout * 1000)}ms",
        "-http2=false",
        "-max-body=0",
        f"-output={results}",
    ]
    if phase.mode == "closed":
        arguments += ["-rate=0", f"-workers={phase.connections}", f"-max-workers={phase.connections}"]
    else:
        arguments.append(f"-rate={round(phase.rate)}")
    return arguments


def attack(
    binary: Path, phase: Phase, seconds: float, targets: Path, results: Path, *, watch_pids: Sequence[int] = ()
) -> Attack:
    """Run vegeta for `seconds` of `phase`; CPU is metered from its start to its exit (its last answer)."""
    env = {name: value for name, value in os.environ.items() if name.lower() not in PROXY_VARIABLES}
    arguments = attack_arguments(binary, phase, seconds, targets, results)
    stderr_path = results.with_suffix(".stderr")
    server = sum(process_cpu_seconds(pid) for pid in watch_pids)
    stack, machine = stack_cpu_seconds(), machine_busy_seconds()
    started = time.perf_counter()
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(arguments, env=env, stdin=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
    wall = max(time.perf_counter() - started, 1e-9)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    server_after = sum(process_cpu_seconds(pid) for pid in watch_pids)
    stack_after, machine_after = stack_cpu_seconds(), machine_busy_seconds()
    if process.returncode != 0:
        raise RuntimeError(
            f"vegeta exited with {process.returncode}: {' '.join(arguments)}\n{stderr_path.read_text()[-3000:]}"
        )
    # A process born during the attack (a new database connection) counts whole; one that died is lost.
    stack_used = sum(used - stack.get(pid, 0.0) for pid, used in stack_after.items())
    cpu = CpuUsage(
        seconds=wall,
        client=(usage.ru_utime + usage.ru_stime) / wall,
        server=(server_after - server) / wall if watch_pids else None,
        stack=max(stack_used, 0.0) / wall,
        machine=(machine_after - machine) / wall,
    )
    return Attack(results, cpu)


def read_results(binary: Path, measured: Attack, phase: Phase) -> LoadResult:
    with subprocess.Popen(
        [str(binary), "encode", "--to", "csv", str(measured.results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as encoder:
        assert encoder.stdout is not None
        result = parse_results(encoder.stdout, phase, measured.cpu)
        _, problem = encoder.communicate()
    if encoder.returncode != 0:
        raise RuntimeError(f"vegeta encode failed ({encoder.returncode}): {problem[-3000:]}")
    if NO_TARGETS in result.errors:
        raise ExhaustedTargets(
            f"vegeta ran out of targets during {phase.label} after {result.sent} requests: "
            f"raise bench.vegeta.CLOSED_TARGETS_PER_SECOND ({CLOSED_TARGETS_PER_SECOND:,})"
        )
    return result


def run_phase(
    binary: Path,
    base_url: str,
    phase: Phase,
    make: RequestFactory,
    *,
    workdir: Path,
    watch_pids: Sequence[int] = (),
    settle: Callable[[], object] | None = None,
) -> LoadResult:
    """`phase` against `base_url`: a warm-up attack (results discarded), then the measured one.

    Requests `make(0)`, `make(1)`, ... are written as targets first (each sent once: warm-up, then measured),
    then `settle` runs (e.g. waiting for the servers to be idle), then the attacks."""
    with tempfile.TemporaryDirectory(prefix="vegeta-", dir=workdir) as scratch:
        folder = Path(scratch)
        warmup_targets, targets = folder / "warmup.jsonl", folder / "targets.jsonl"
        warmup_count = target_count(phase, phase.warmup) if phase.warmup > 0 else 0
        write_targets(warmup_targets, base_url, make, warmup_count)
        write_targets(targets, base_url, make, target_count(phase, phase.duration), first=warmup_count)
        if settle is not None:
            settle()
        if phase.warmup > 0:
            attack(binary, phase, phase.warmup, warmup_targets, folder / "warmup.bin")
        measured = attack(binary, phase, phase.duration, targets, folder / "results.bin", watch_pids=watch_pids)
        return read_results(binary, measured, phase)


if __name__ == "__main__":
    print(install())  # `make var/bin/vegeta`: build the pinned version into var/bin
