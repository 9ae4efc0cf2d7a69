"""Servers under test as processes of their own: the bare baseline, one service, all three, or embedded.

Real-stack runs get fresh databases and a private topic prefix (as tests/e2e does), removed afterwards;
every process is stopped with SIGTERM, as an orchestrator would, and its log is kept in the work dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.load import process_cpu_seconds
from tests.stack import DATABASE_TEMPLATE, KAFKA, create_database, delete_topics, drop_database

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("router", "knowledge", "notifier")
# The services the benchmarks start are throwaway and local: their bootstrap admin key is no secret. Every
# request carries it, for services that check API keys; ones that do not ignore both.
API_KEY = "firstcall-bench-throwaway-admin-key-0123456789"
AUTH = {"authorization": f"Bearer {API_KEY}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Processes:
    """Running processes by name, where their HTTP servers answer, and their logs."""

    workdir: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self.processes.values())

    def log_text(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")

    def start(self, name: str, args: Sequence[str], env: dict[str, str]) -> None:
        self.logs[name] = self.workdir / f"{name}.log"
        with self.logs[name].open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, name: str, urls: Sequence[str], timeout: float = 90) -> None:
        """Until every url answers 200 with a status of "ok" (or plain 200 for a non-JSON answer)."""
        deadline = time.monotonic() + timeout
        pending = list(urls)
        while pending and time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited at start:\n{self.log_text(name)[-3000:]}")
            try:
                response = httpx.get(pending[0], headers=AUTH, timeout=2, trust_env=False)
                if response.status_code == 200 and response.json().get("status", "ok") == "ok":
                    pending.pop(0)
                    continue
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"{name} not ready within {timeout:.0f}s:\n{self.log_text(name)[-3000:]}")

    def stop(self, name: str, timeout: float = 60) -> int:
        """SIGTERM and wait (SIGKILL if it will not go)."""
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)


def _subdir(workdir: Path, kind: str) -> Path:
    """A new directory per run of servers, for their logs (and data)."""
    return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir))


@contextlib.contextmanager
def baseline_server(workdir: Path) -> Iterator[Processes]:
    """The bare FastAPI app (bench.baseline) under uvicorn, configured like the services."""
    procs = Processes(_subdir(workdir, "baseline"))
    procs.ports["baseline"] = free_port()
    try:
        procs.start("baseline", ["-m", "bench.baseline", "--port", str(procs.ports["baseline"])], dict(os.environ))
        procs.wait_ready("baseline", [f"{procs.url('baseline')}/healthz"])
        yield procs
    finally:
        procs.stop_all()


def stack_env(run: str, *, router_url: str | None) -> dict[str, str]:
    """The environment of a real-stack run's services: its own databases (`fc_bench_<run>_<service>`) and
    topic prefix (`bench<run>.`), JSON logs, the throwaway admin key; with a router, personal fields sealed
    as deployed, the consumers asking that router for keys."""
    env = {
        **os.environ,
        "FIRSTCALL_ENVIRONMENT": "test",
        "FIRSTCALL_BUS": "kafka",
        "FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "FIRSTCALL_KAFKA_TOPIC_PREFIX": f"bench{run}.",
        "FIRSTCALL_DATABASE_URL": DATABASE_TEMPLATE.replace("firstcall_{service}", f"fc_bench_{run}_{{service}}"),
        "FIRSTCALL_LOG_FORMAT": "json",
        "FIRSTCALL_ADMIN_API_KEY": API_KEY,
    }
    if router_url is not None:
        env["FIRSTCALL_ROUTER_URL"] = router_url
        env["FIRSTCALL_ROUTER_SEAL_PERSONAL_FIELDS"] = "true"
        env["FIRSTCALL_NOTIFIER_SEAL_PERSONAL_FIELDS"] = "true"
    return env


@contextlib.contextmanager
def real_stack(workdir: Path, services: Sequence[str] = SERVICES) -> Iterator[Processes]:
    """`firstcall serve <service>` per service on Kafka + PostgreSQL: fresh databases, private topics."""
    run = uuid.uuid4().hex[:8]
    databases = {service: f"fc_bench_{run}_{service}" for service in services}
    topic_prefix = f"bench{run}."
    procs = Processes(_subdir(workdir, "stack"))
    for service in services:
        procs.ports[service] = free_port()
    env = stack_env(run, router_url=procs.url("router") if "router" in procs.ports else None)
    for service in services:
        env[f"FIRSTCALL_{service.upper()}_PORT"] = str(procs.ports[service])
    created: list[str] = []
    try:
        for name in databases.values():
            asyncio.run(create_database(name))
            created.append(name)
        for service in services:
            procs.start(service, ["-m", "services.cli", "serve", service], env)
            procs.wait_ready(service, [f"{procs.url(service)}/readyz"])
        yield procs
    finally:
        procs.stop_all()
        for name in created:
            asyncio.run(drop_database(name))
        asyncio.run(delete_topics(topic_prefix))


@contextlib.contextmanager
def embedded(workdir: Path) -> Iterator[Processes]:
    """`firstcall run`: the three services in one process on SQLite files and the in-memory bus."""
    # Not the bridge either: var/stack.env names the local RT, and the benchmark measures the three services.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("DATABASE_URL") and not k.startswith("FIRSTCALL_HELPDESK_")
    }
    env |= {
        "FIRSTCALL_ENVIRONMENT": "test",
        "FIRSTCALL_BUS": "memory",
        "FIRSTCALL_LOG_FORMAT": "json",
        "FIRSTCALL_ADMIN_API_KEY": API_KEY,
    }
    procs = Processes(_subdir(workdir, "embedded"))
    env["FIRSTCALL_DATA_DIR"] = str(procs.workdir / "data")
    for service in SERVICES:
        procs.ports[service] = free_port()
        env[f"FIRSTCALL_{service.upper()}_PORT"] = str(procs.ports[service])
    try:
        procs.start("embedded", ["-m", "services.cli", "run"], env)
        procs.wait_ready("embedded", [f"{procs.url(service)}/readyz" for service in SERVICES])
        yield procs
    finally:
        procs.stop_all()


def wait_idle(pids: Sequence[int], *, below: float = 0.05, timeout: float = 30) -> float:
    """Wait until the processes use less than `below` cores over half a second (work left over from a
    previous phase, e.g. requests whose clients gave up, must not run into the next); returns the wait."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(process_cpu_seconds(pid) for pid in pids)
        time.sleep(0.5)
        if (sum(process_cpu_seconds(pid) for pid in pids) - before) / 0.5 < below:
            break
    return time.monotonic() - started


def first_error(log: str) -> str | None:
    """The first ERROR line of a JSON log: its message and the last line of its traceback."""
    for line in log.splitlines():
        if '"ERROR"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") == "ERROR":
            last = (entry.get("exception") or "").strip().splitlines()[-1:]
            return f"{entry.get('message', '').strip()}: {last[0] if last else ''}"
    return None


def outbox_pending(url: str) -> int | None:
    """The service's unpublished outbox rows, from /readyz."""
    try:
        pending = httpx.get(f"{url}/readyz", headers=AUTH, timeout=5, trust_env=False).json()["checks"][
            "outbox_pending"
        ]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    return int(pending)


def wait_outbox_drained(url: str, timeout: float = 60) -> float | None:
    """Seconds until the outbox is empty (None if it is not within `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if outbox_pending(url) == 0:
            return time.monotonic() - started
        time.sleep(0.1)
    return None
