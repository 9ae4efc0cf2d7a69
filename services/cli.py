"""`firstcall`: run the services, migrate their databases, manage topics, print the AsyncAPI document."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path
from types import ModuleType

from services.embedded import run_embedded
from services.serve import serve
from shared.bus.factory import make_bus, physical_topics
from shared.bus.kafka import KafkaBus
from shared.db import Database
from shared.events.asyncapi import render_asyncapi
from shared.migrations import new_revision, upgrade_to_head
from shared.settings import ServiceSettings

SERVICES = ("router", "knowledge", "notifier")


def _bootstrap(service: str) -> ModuleType:
    return importlib.import_module(f"services.{service}.bootstrap")


def _settings(service: str) -> ServiceSettings:
    return _settings_class(service)()


def cmd_run(_: argparse.Namespace) -> int:
    return run_embedded()


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(args.service)


def cmd_db(args: argparse.Namespace) -> int:
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


def asyncapi_document() -> str:
    """The AsyncAPI document: the catalogue, plus which consumer group handles which event."""
    return render_asyncapi({name: _bootstrap(name).HANDLERS for name in SERVICES})


def settings_table() -> str:
    """The configuration tables of the README, from the settings classes themselves."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in ServiceSettings.model_fields.items():
        if name == "port":
            default = ", ".join(f"{s}: {_settings_class(s).model_fields['port'].default}" for s in SERVICES)
        else:
            default = _default(field.default)
        if name in ("secret_key", "admin_api_key"):
            default = "a development-only value (refused in production)"
        lines.append(f"| `FIRSTCALL_{name.upper()}` | `{default}` | {field.description} |")
    for service in SERVICES:
        own = {
            name: field
            for name, field in _settings_class(service).model_fields.items()
            if name not in ServiceSettings.model_fields
        }
        if own:
            lines += ["", f"Only the {service}:", "", "| variable | default | meaning |", "| --- | --- | --- |"]
            lines += [
                f"| `FIRSTCALL_{service.upper()}_{name.upper()}` | `{_default(field.default)}` | {field.description} |"
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


def cmd_settings(_: argparse.Namespace) -> int:
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
    parser = argparse.ArgumentParser(prog="firstcall", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="all three services in one process (embedded mode)").set_defaults(func=cmd_run)
    serve = commands.add_parser("serve", help="one service as its own process (real stack)")
    serve.add_argument("service", choices=SERVICES)
    serve.set_defaults(func=cmd_serve)
    db = commands.add_parser("db", help="database migrations of one service")
    db.add_argument("action", choices=("upgrade", "revision"))
    db.add_argument("service", choices=SERVICES)
    db.add_argument("-m", "--message", default="change", help="revision message")
    db.set_defaults(func=cmd_db)
    topics = commands.add_parser("topics", help="create the declared Kafka topics and list them")
    topics.set_defaults(func=cmd_topics)
    asyncapi = commands.add_parser("asyncapi", help="print the AsyncAPI document of all events")
    asyncapi.add_argument("--check", metavar="FILE", help="fail if FILE differs from the generated document")
    asyncapi.set_defaults(func=cmd_asyncapi)
    commands.add_parser("settings", help="print every setting as a Markdown table").set_defaults(func=cmd_settings)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
