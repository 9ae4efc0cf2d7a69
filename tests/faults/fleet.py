"""The services as processes, any number of replicas each, that the campaign can SIGKILL and start again.

It is the e2e tier's ServiceProcesses with replica names ("notifier-b" runs the notifier on a port of its
own) and two more verbs: `kill` (SIGKILL, no goodbye: no consumer leaves its group, no relay flushes, no
transaction ends) and `owner_of_connection` (which replica holds a TCP connection: the one doing the work).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.conftest import ROOT, ServiceProcesses


@dataclass
class Fleet(ServiceProcesses):
    replicas: dict[str, str] = field(default_factory=dict)  # replica name -> service
    pids: Path | None = None  # where each replica's pid is written, for a reaper

    def start(self, service: str) -> None:
        """Start replica `service` (a replica name) and wait until it says it is ready."""
        env = {**self.env, f"FIRSTCALL_{self.replicas[service].upper()}_PORT": str(self.ports[service])}
        with (self.logs / f"{service}.log").open("ab") as log:
            self.processes[service] = subprocess.Popen(
                # faulthandler: a replica that hangs at start is told to print where it hangs (see wait_ready).
                [sys.executable, "-X", "faulthandler", "-m", "services.cli", "serve", self.replicas[service]],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self.pids is not None:
            (self.pids / service).write_text(str(self.processes[service].pid))
        self.wait_ready(service, timeout=120)

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        try:
            super().wait_ready(service, timeout)
        except AssertionError:
            process = self.processes[service]
            if process.poll() is None:
                process.send_signal(signal.SIGABRT)  # faulthandler writes every thread's stack to the log
                process.wait(timeout=30)
                raise AssertionError(f"{service} hung at start; its stacks:\n{self.log(service)[-6000:]}") from None
            raise

    def kill(self, name: str) -> None:
        """SIGKILL a replica, as the kernel's OOM killer or a lost machine would."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def shut_down(self) -> None:
        """SIGTERM every replica at once; SIGKILL one still there after 30 s."""
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        self.processes.clear()

    def trouble(self, per_replica: int = 12) -> str:
        """The last errors and our own warnings of every replica: CI keeps no files, so a failed run must say
        why in its message (a consumer that fell silent once left nothing else to read)."""
        said = []
        for name in self.replicas:
            try:
                lines = self.log(name).splitlines()
            except OSError:
                continue
            worth = [
                line[:400]
                for line in lines
                if '"level":"ERROR"' in line
                or '"level":"CRITICAL"' in line
                or ('"level":"WARNING"' in line and '"logger":"shared.' in line)
            ]
            if worth:
                shown = worth[-per_replica:]
                said.append(
                    f"\n{name}, last {len(shown)} of {len(worth)} errors and warnings:\n  " + "\n  ".join(shown)
                )
        return "\n" + "".join(said) if said else ""

    def of(self, service: str) -> list[str]:
        return [name for name, of in self.replicas.items() if of == service]

    def readiness(self) -> dict[str, str]:
        """Each replica's /readyz status ("ok", "degraded", "unavailable", or "down" when it does not answer)."""
        statuses: dict[str, str] = {}
        for name in self.replicas:
            try:
                statuses[name] = httpx.get(f"{self.url(name)}/readyz", timeout=3).json()["status"]
            except (httpx.HTTPError, ValueError, KeyError):
                statuses[name] = "down"
        return statuses

    def owner_of_connection(self, local_port: int, remote_port: int) -> str | None:
        """The running replica holding the TCP connection from `local_port` to `remote_port` on loopback.

        Both ends are needed: Linux gives one ephemeral port to several connections with other peers.
        """
        inodes = _socket_inodes(local_port, remote_port)
        for name, process in self.processes.items():
            if inodes & _socket_inodes_of(process.pid):
                return name
        return None


def _socket_inodes(local_port: int, remote_port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            columns = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in columns[1:3])
            if (local, remote) == (local_port, remote_port):
                inodes.add(columns[9])
    return inodes


def _socket_inodes_of(pid: int) -> set[str]:
    inodes: set[str] = set()
    folder = Path(f"/proc/{pid}/fd")
    try:
        descriptors = os.listdir(folder)
    except FileNotFoundError:
        return inodes
    for descriptor in descriptors:
        try:
            target = os.readlink(folder / descriptor)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes
