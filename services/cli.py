"""`firstcall`: run the services, migrate their databases, manage topics, print the AsyncAPI document, and
the ops commands on the real stack (events, lag, dead letters, outboxes, problems, tickets; services/ops/)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import sys
import time
from pathlib import Path
from types import ModuleType

from services.demo.run import run_demo
from services.embedded import prepare_mpnet, run_embedded
from services.ops.commands import Stack, db_status
from services.ops.commands import run as run_ops
from services.ops.parser import EPILOG, add_ops_commands
from services.serve import serve
from shared.bus.factory import make_bus, physical_topics
from shared.bus.kafka import KafkaBus
from shared.db import Database
from shared.events.asyncapi import render_asyncapi
from shared.migrations import new_revision, upgrade_to_head
from shared.preflight import StartFailure
from shared.settings import ServiceSettings
from shared.text.encoders import EncoderUnavailable, load_encoder, model_cache

SERVICES = ("router", "knowledge", "notifier")
# The helpdesk bridge runs beside the three services as a process of its own (docs/helpdesk.md).
PROCESSES = (*SERVICES, "helpdesk")


def _bootstrap(service: str) -> ModuleType:
    return importlib.import_module(f"services.{service}.bootstrap")


def _settings(service: str) -> ServiceSettings:
    return _settings_class(service)()


def cmd_run(args: argparse.Namespace) -> int:
    return run_demo() if args.demo else run_embedded()


def cmd_demo(_: argparse.Namespace) -> int:
    return run_demo()


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(args.service)


def ops_stack() -> Stack:
    """What the ops commands may know of the services: settings and migration folders, no internals."""
    return Stack(settings=_settings, migrations=lambda s: Path(_bootstrap(s).MIGRATIONS), deployed=_deployed)


def _deployed() -> tuple[str, ...]:
    """The helpdesk bridge runs only where a Request Tracker is configured (docs/helpdesk.md)."""
    bridge = getattr(_settings("helpdesk"), "rt_url", None) is not None
    return PROCESSES if bridge else SERVICES


def cmd_db(args: argparse.Namespace) -> int:
    if args.action in ("current", "history"):
        return run_ops(db_status, args, ops_stack())
    module = _bootstrap(args.service)
    database = Database(_settings(args.service).resolved_database_url())
    migrations: Path = module.MIGRATIONS

    async def go() -> None:
        try:
            if args.action == "upgrade":
                await upgrade_to_head(database, migrations)
            else:
                await new_revision(database, migrations, args.message)
        finally:
            await database.dispose()

    asyncio.run(go())
    return 0


def cmd_encoder(args: argparse.Namespace) -> int:
    """Load a sentence encoder as a service would: MPNet's graph is built into the model cache first if it is
    not there (for an image or a machine before its first start: the build needs ~2.5 GB for ~20 s)."""
    started = time.monotonic()
    try:
        if args.name == "mpnet":  # its build, if due, shown step by step after the machine is checked
            prepare_mpnet(tell=lambda line: print(line, file=sys.stderr), stream=sys.stderr)
        encoder = load_encoder(args.name)
    except (EncoderUnavailable, StartFailure) as exc:
        print(f"firstcall: {exc}", file=sys.stderr)
        return 1
    where = f", model cache {model_cache()}" if args.name == "mpnet" else ""
    assert encoder is not None  # "none" is not offered
    print(f"{encoder.name}: {encoder.dimension} numbers, ready in {time.monotonic() - started:.1f} s{where}")
    return 0


def asyncapi_document() -> str:
    """The AsyncAPI document: the catalogue, plus which consumer group handles which event."""
    return render_asyncapi({name: _bootstrap(name).HANDLERS for name in PROCESSES})


def settings_table() -> str:
    """The configuration tables of the README, from the settings classes themselves."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in ServiceSettings.model_fields.items():
        if name == "port":
            default = ", ".join(f"{s}: {_settings_class(s).model_fields['port'].default}" for s in PROCESSES)
        else:
            default = _default(field.default)
        if name in ("secret_key", "admin_api_key"):
            default = "a development-only value (refused in production)"
        lines.append(f"| `FIRSTCALL_{name.upper()}` | `{default}` | {field.description} |")
    for service in PROCESSES:
        own = {
            name: field
            for name, field in _settings_class(service).model_fields.items()
            if name not in ServiceSettings.model_fields
        }
        if own:
            lines += ["", f"Only the {service}:", "", "| variable | default | meaning |", "| --- | --- | --- |"]
            lines += [
                f"| `FIRSTCALL_{service.upper()}_{name.upper()}` | `{_default(field.get_default(call_default_factory=True))}` "
                f"| {field.description} |"
                for name, field in own.items()
            ]
    return "\n".join(lines) + "\n"


def _default(value: object) -> str:
    value = getattr(value, "value", value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _settings_class(service: str) -> type[ServiceSettings]:
    settings_class: type[ServiceSettings] = _bootstrap(service).SETTINGS
    return settings_class


SETTINGS_BEGIN = "<!-- settings: generated by `make docs`, edits are overwritten -->"
SETTINGS_END = "<!-- settings: end -->"


def readme_with_settings(readme: str) -> str:
    """The README with its generated configuration tables replaced by the current ones."""
    begin, end = readme.index(SETTINGS_BEGIN) + len(SETTINGS_BEGIN), readme.index(SETTINGS_END)
    return readme[:begin] + "\n" + settings_table() + readme[end:]


def cmd_settings(args: argparse.Namespace) -> int:
    if args.readme:
        path = Path(args.readme)
        path.write_text(readme_with_settings(path.read_text()))
        return 0
    sys.stdout.write(settings_table())
    return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    document = asyncapi_document()
    if args.check:
        current = Path(args.check).read_text() if Path(args.check).exists() else ""
        if current != document:
            print(f"{args.check} is out of date: run `make asyncapi`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(document)
    return 0


def cmd_topics(_: argparse.Namespace) -> int:
    settings = _settings("router")

    async def go() -> None:
        bus = make_bus(settings)
        if not isinstance(bus, KafkaBus):
            raise SystemExit("`firstcall topics` talks to Kafka: set FIRSTCALL_BUS=kafka")
        await bus.start(wait_seconds=30)
        health = await bus.health()
        await bus.stop()
        if not health.ok:
            raise SystemExit(f"Kafka not reachable: {health.detail}")

    asyncio.run(go())
    for spec in physical_topics(settings):
        print(f"{spec.name}\tpartitions={spec.partitions}\tretention_ms={spec.retention_ms}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="firstcall", description=__doc__, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"firstcall {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="all three services in one process (embedded mode), and the helpdesk bridge if configured"
    )
    run.add_argument("--demo", action="store_true", help="as `firstcall demo`")
    run.set_defaults(func=cmd_run)
    commands.add_parser(
        "demo", help="embedded, on data of its own, seeded with a small contact center that plays Nancy's story"
    ).set_defaults(func=cmd_demo)
    serve = commands.add_parser("serve", help="one service as its own process (real stack)")
    serve.add_argument("service", choices=PROCESSES)
    serve.set_defaults(func=cmd_serve)
    db = commands.add_parser("db", help="database migrations of one service")
    db.add_argument("action", choices=("upgrade", "revision", "current", "history"))
    db.add_argument("service", choices=PROCESSES)
    db.add_argument("-m", "--message", default="change", help="revision message")
    db.add_argument("--json", action="store_true", help="current, history: JSON for scripts")
    db.set_defaults(func=cmd_db)
    topics = commands.add_parser("topics", help="create the declared Kafka topics and list them")
    topics.set_defaults(func=cmd_topics)
    asyncapi = commands.add_parser("asyncapi", help="print the AsyncAPI document of all events")
    asyncapi.add_argument("--check", metavar="FILE", help="fail if FILE differs from the generated document")
    asyncapi.set_defaults(func=cmd_asyncapi)
    encoder = commands.add_parser("encoder", help="load a sentence encoder, building MPNet's graph if needed")
    encoder.add_argument("name", choices=("wordllama", "minilm", "mpnet"))
    encoder.set_defaults(func=cmd_encoder)
    settings = commands.add_parser("settings", help="print every setting as a Markdown table")
    settings.add_argument("--readme", metavar="FILE", help="rewrite the generated tables inside FILE instead")
    settings.set_defaults(func=cmd_settings)
    add_ops_commands(commands, ops_stack)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def _version() -> str:
    try:
        return importlib.metadata.version("firstcall")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


if __name__ == "__main__":
    raise SystemExit(main())
