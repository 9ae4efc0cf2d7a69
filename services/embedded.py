"""Embedded mode (`make run`): router, knowledge and notifier in one process on the in-memory bus.

Each service keeps its own SQLite database and its own port, exactly as in production; only the bus is
shared in memory. On Ctrl-C the servers stop taking requests, then the outboxes and the bus are drained
(so no event accepted before the signal is lost), then everything closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import time
from collections.abc import Iterator, Sequence

import uvicorn
from fastapi import FastAPI

from shared import blas, heap
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.logs import configure_logging
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

SERVICES = ("router", "knowledge", "notifier")
# Started only when their bootstrap says they are configured (the bridge needs an RT to talk to).
OPTIONAL_SERVICES = ("helpdesk",)
log = logging.getLogger("firstcall.embedded")


class _SharedSignalServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the embedded runner (three servers, one Ctrl-C)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_embedded(
    settings: Sequence[ServiceSettings] | None = None,
    *,
    names: Sequence[str] = SERVICES,
) -> tuple[InMemoryBus, list[ServiceRuntime], list[FastAPI]]:
    """The services `names` wired to one in-memory bus (the runtimes are not started).

    `settings` (one per name, in order) default to each service's settings from the environment.
    """
    modules = [importlib.import_module(f"services.{name}.bootstrap") for name in names]
    settings = list(settings) if settings is not None else [module.SETTINGS() for module in modules]
    bus = InMemoryBus(physical_topics(settings[0]))
    runtimes = [module.build_runtime(s, bus=bus) for module, s in zip(modules, settings, strict=True)]
    apps = [module.create_app(rt, manage_runtime=False) for module, rt in zip(modules, runtimes, strict=True)]
    return bus, runtimes, apps


async def drain(bus: InMemoryBus, runtimes: Sequence[ServiceRuntime], timeout: float) -> None:
    """Publish every outbox and let every consumer catch up, until nothing moves (or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for runtime in runtimes:
            await runtime.relay.flush(max(deadline - time.monotonic(), 0.1))
        await bus.wait_idle(max(deadline - time.monotonic(), 0.1))
        if all([await runtime.relay.pending() == 0 for runtime in runtimes]):
            return


def configured_services() -> tuple[str, ...]:
    """The three services, and the optional ones that are configured."""
    optional = [n for n in OPTIONAL_SERVICES if importlib.import_module(f"services.{n}.bootstrap").configured()]
    return (*SERVICES, *optional)


async def serve_embedded() -> None:
    bus, runtimes, apps = build_embedded(names=configured_services())
    first = runtimes[0].settings
    configure_logging(service="firstcall", level=first.log_level, fmt=first.log_format)
    blas.use_one_thread()  # shared/blas.py: no BLAS thread left spinning beside the services
    heap.reuse_freed_memory()  # shared/heap.py: no page fault per large temporary array
    for runtime in runtimes:
        await runtime.start()
    heap.settle()  # the services' long-lived state is built: keep it out of full collections
    servers = [
        _SharedSignalServer(
            uvicorn.Config(
                app,
                host=rt.settings.host,
                port=rt.settings.port,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=int(rt.settings.shutdown_grace_seconds),
            )
        )
        for app, rt in zip(apps, runtimes, strict=True)
    ]
    loop = asyncio.get_running_loop()

    def request_exit() -> None:
        for server in servers:
            # A second Ctrl-C skips waiting for in-flight requests.
            server.force_exit = server.should_exit
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_exit)
    serving = [asyncio.create_task(server.serve()) for server in servers]
    # uvicorn offers no "started" event to wait on, only the flag.
    while not all(server.started for server in servers) and not any(task.done() for task in serving):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if all(server.started for server in servers):
        print("firstcall is running (embedded: SQLite + in-memory bus). Ctrl-C stops it.", flush=True)
        for rt in runtimes:
            base = f"http://{rt.settings.host}:{rt.settings.port}"
            print(f"  {rt.name:<10} {base}   API docs: {base}/docs", flush=True)
    try:
        await asyncio.gather(*serving)
    finally:
        with contextlib.suppress(TimeoutError):
            await drain(bus, runtimes, first.shutdown_grace_seconds)
        for runtime in runtimes:
            await runtime.stop()
        await bus.stop()
        print("firstcall stopped.", flush=True)


def run_embedded() -> int:
    asyncio.run(serve_embedded())
    return 0
