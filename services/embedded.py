"""Embedded mode (`make run`): router, knowledge and notifier in one process on the in-memory bus.

Each service keeps its own SQLite database and its own port, exactly as in production; only the bus is
shared in memory. On Ctrl-C the servers stop taking requests, then the outboxes and the bus are drained
(so no event accepted before the signal is lost), then everything closes.

The start talks (issue 25): the ports are taken first (a taken one is one line, at once), the notifier's
sentence encoder is built with a progress bar on a machine's first start (after checking it has the disk and
memory for it), each database says what its migrations do, then the banner.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy.engine import Connection

from shared import blas, heap
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.data_keys import ask_router_in_process
from shared.db import Database
from shared.logs import configure_logging
from shared.migrations import upgrade_to_head
from shared.preflight import StartFailure, check_disk, check_memory, listening_socket
from shared.progress import StepProgress
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.text import encoders

SERVICES = ("router", "knowledge", "notifier")
# Started only when their bootstrap says they are configured (the bridge needs an RT to talk to).
OPTIONAL_SERVICES = ("helpdesk",)
log = logging.getLogger("firstcall.embedded")
Say = Callable[[str], None]
# Called once the servers answer, with their runtimes (the demo plays its story there).
OnReady = Callable[[Sequence[ServiceRuntime]], Coroutine[Any, Any, None]]


# Importing the services' bootstraps takes ~8 s on a loaded 2-core machine (1 s idle): said before, not after.
LOADING = "Loading the services' code and settings..."


def say(line: str) -> None:
    print(line, flush=True)


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
    ask_router_in_process(runtimes, apps)
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


def service_settings(names: Sequence[str]) -> list[ServiceSettings]:
    """Each service's settings from the environment."""
    return [importlib.import_module(f"services.{name}.bootstrap").SETTINGS() for name in names]


def prepare_encoders(settings: Sequence[ServiceSettings], *, tell: Say = say) -> None:
    """Build MPNet's graph now if a service uses it and this machine has not built it yet."""
    chosen = {getattr(s, field) for s in settings for field in type(s).model_fields if field.endswith("_encoder")}
    if "mpnet" in chosen:
        prepare_mpnet(tell=tell)


def prepare_mpnet(*, tell: Say = say, stream: TextIO | None = None) -> None:
    """MPNet's graph, built into the model cache unless it is there: with a progress bar, after checking the
    machine has the memory and disk for it (a minute on a loaded 2-core machine); StartFailure if not."""
    directory = encoders.mpnet_directory()
    if encoders.mpnet_built(directory):
        return
    purpose, lighter = "building the sentence encoder", "set FIRSTCALL_NOTIFIER_DETECTION_ENCODER=minilm (lighter)"
    check_memory(encoders.MPNET_BUILD_MEMORY, purpose=purpose, remedy=lighter)
    check_disk(
        directory,
        encoders.MPNET_BUILD_CACHE_DISK,
        purpose=purpose,
        remedy="set FIRSTCALL_MODEL_CACHE to a disk with room",
    )
    check_disk(
        Path(tempfile.gettempdir()),
        encoders.MPNET_BUILD_TEMP_DISK,
        purpose=purpose,
        remedy="set TMPDIR to a disk with room",
    )
    tell(f"First start on this machine: building the notifier's sentence encoder into {directory} (once).")
    try:
        with StepProgress("  all-mpnet-base-v2", encoders.MPNET_BUILD_STEPS, stream=stream or sys.stdout) as progress:
            encoders.build_mpnet_graph(directory, on_step=progress.begin)
    except encoders.EncoderUnavailable as exc:
        raise StartFailure(f"{exc}; or {lighter}") from None


async def pending_migrations(database: Database, migrations: Path) -> list[str]:
    """The messages of the migrations not yet applied to `database`, oldest first."""

    def pending(connection: Connection) -> list[str]:
        current = MigrationContext.configure(connection).get_current_heads()
        revisions = ScriptDirectory(str(migrations)).iterate_revisions("heads", current or "base")
        return [revision.doc for revision in revisions][::-1]

    async with database.engine.connect() as connection:
        return await connection.run_sync(pending)


def talking_migration(name: str, migrations: Path, *, tell: Say = say) -> Callable[[Database], Awaitable[None]]:
    """A runtime's migrate step that says which database it brings up to date, with what, and how long it took."""

    async def migrate(database: Database) -> None:
        where = database.url.database if database.is_sqlite else database.url.render_as_string()
        todo = await pending_migrations(database, migrations)
        if not todo:
            tell(f"  {name:<10} database {where}: up to date")
            return
        started = time.monotonic()
        latest = f", the latest: {todo[-1]}" if len(todo) > 1 else f": {todo[-1]}"
        tell(f"  {name:<10} database {where}: applying {len(todo)} migrations{latest}")
        await upgrade_to_head(database, migrations)
        tell(f"  {name:<10} database ready in {time.monotonic() - started:.1f} s")

    return migrate


def bind_ports(settings: Sequence[ServiceSettings]) -> list[socket.socket]:
    """Every service's listening socket, bound now: a taken port is said before a minute of building."""
    sockets: list[socket.socket] = []
    try:
        for s in settings:
            sockets.append(listening_socket(s.host, s.port, service=s.service_name))
    except StartFailure:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def serve_embedded(
    settings: Sequence[ServiceSettings] | None = None,
    *,
    sockets: Sequence[socket.socket] | None = None,
    on_ready: OnReady | None = None,
    tell: Say = say,
) -> None:
    """Serve the services until Ctrl-C; `sockets` (one per service, in order) are bound here if not given."""
    settings = list(settings) if settings is not None else service_settings(configured_services())
    names = [s.service_name for s in settings]
    first = settings[0]
    configure_logging(service="firstcall", level=first.log_level, fmt=first.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # talking_migration says it in one line a database
    sockets = list(sockets) if sockets is not None else bind_ports(settings)
    try:
        tell("Loading the services (sentence encoders, search indexes)...")
        bus, runtimes, apps = build_embedded(settings, names=names)
        await _serve(bus, runtimes, apps, sockets, on_ready=on_ready, tell=tell)
    finally:
        for sock in sockets:
            sock.close()


async def _serve(
    bus: InMemoryBus,
    runtimes: Sequence[ServiceRuntime],
    apps: Sequence[FastAPI],
    sockets: Sequence[socket.socket],
    *,
    on_ready: OnReady | None,
    tell: Say,
) -> None:
    first = runtimes[0].settings
    blas.use_one_thread()  # shared/blas.py: no BLAS thread left spinning beside the services
    heap.reuse_freed_memory()  # shared/heap.py: no page fault per large temporary array
    tell("Migrating the databases:")
    for runtime in runtimes:
        module = importlib.import_module(f"services.{runtime.name}.bootstrap")
        runtime.migrate = talking_migration(runtime.name, module.MIGRATIONS, tell=tell)
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
    serving = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in zip(servers, sockets, strict=True)]
    # uvicorn offers no "started" event to wait on, only the flag.
    while not all(server.started for server in servers) and not any(task.done() for task in serving):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    story: asyncio.Task[None] | None = None
    if all(server.started for server in servers):
        tell("firstcall is running (embedded: SQLite + in-memory bus). Ctrl-C stops it.")
        for rt in runtimes:
            base = f"http://{rt.settings.host}:{rt.settings.port}"
            tell(f"  {rt.name:<10} {base}   API docs: {base}/docs")
        if on_ready is not None:
            story = asyncio.create_task(on_ready(runtimes))
    try:
        await asyncio.gather(*serving)
    finally:
        if story is not None and not story.done():
            story.cancel()
        with contextlib.suppress(TimeoutError):
            await drain(bus, runtimes, first.shutdown_grace_seconds)
        for runtime in runtimes:
            await runtime.stop()
        await bus.stop()
        tell("firstcall stopped.")


def run_embedded(settings: Sequence[ServiceSettings] | None = None, *, on_ready: OnReady | None = None) -> int:
    """Serve until Ctrl-C. What the machine must give (ports, the encoder's build) is done first, outside the
    event loop, so that Ctrl-C stops a build at once; a start it cannot give is one line and exit 1."""
    if settings is None:
        say(LOADING)
        settings = service_settings(configured_services())
    try:
        sockets = bind_ports(settings)
    except StartFailure as exc:
        print(f"firstcall: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        prepare_encoders(settings)
        asyncio.run(serve_embedded(settings, sockets=sockets, on_ready=on_ready))
    except StartFailure as exc:
        print(f"firstcall: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nfirstcall: stopped before it was ready; the next start does what is left.", file=sys.stderr)
        return 130
    finally:
        for sock in sockets:
            sock.close()
    return 0
