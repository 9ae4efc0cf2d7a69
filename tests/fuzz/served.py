"""The three services served over HTTP on loopback ports, in a thread of the test process.

The fuzzer runs in a process of its own (the schemathesis CLI), so it needs real sockets; the services run
embedded (SQLite files, the in-memory bus) exactly as `make run` serves them, each on a port the system
chose. A thread with its own event loop keeps the pytest loop out of it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from services.embedded import SERVICES, build_embedded, drain
from shared.runtime import ServiceRuntime
from tests.factories import service_settings

START_SECONDS = 120.0  # the first start on a machine builds nothing, but a loaded CI machine is slow


@dataclass
class ServedStack:
    urls: dict[str, str]  # service name -> base URL
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)

    def requests_served(self, service: str) -> int:
        """Requests the service has answered so far, whatever their status (its own metrics)."""
        counter = self.runtimes[service].metrics.http_requests
        return int(sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total")))


@contextmanager
def served_stack(data_dir: Path) -> Iterator[ServedStack]:
    """The three services, serving until the block ends."""
    sockets = {name: _loopback_socket() for name in SERVICES}
    stack = ServedStack({name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()})
    started, stop = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_serve(data_dir, sockets, stack, started, stop))
        except BaseException as exc:  # reported to the test thread, which would otherwise wait forever
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="fuzz-services", daemon=True)
    thread.start()
    if not started.wait(START_SECONDS) or failure:
        stop.set()
        raise RuntimeError(f"the services did not start: {failure[0] if failure else 'timed out'}")
    try:
        yield stack
    finally:
        stop.set()
        thread.join(START_SECONDS)


def _loopback_socket() -> socket.socket:
    # IPPROTO_TCP named, or asyncio does not set TCP_NODELAY on accepted connections: 40 ms per answer.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _serve(
    data_dir: Path,
    sockets: dict[str, socket.socket],
    stack: ServedStack,
    started: threading.Event,
    stop: threading.Event,
) -> None:
    bus, runtimes, apps = build_embedded([service_settings(name, data_dir=data_dir) for name in SERVICES])
    stack.runtimes.update({runtime.name: runtime for runtime in runtimes})
    for runtime in runtimes:
        await runtime.start()
    # uvicorn leaves signals alone outside the main thread.
    servers = [uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")) for app in apps]
    serving = [
        asyncio.create_task(server.serve(sockets=[sockets[runtime.name]]))
        for server, runtime in zip(servers, runtimes, strict=True)
    ]
    try:
        while not all(server.started for server in servers):  # uvicorn has no started event to await
            if any(task.done() for task in serving):
                await asyncio.gather(*serving)  # raises what stopped a server
                raise RuntimeError("a server stopped while starting")
            await asyncio.sleep(0.05)
        started.set()
        await asyncio.to_thread(stop.wait)  # the test thread says when
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*serving, return_exceptions=True)
        await drain(bus, runtimes, timeout=5)
        for runtime in runtimes:
            await runtime.stop()
        await bus.stop()
