"""Wiring of the notifier: settings, database, bus, consumers and HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.notifier.api import reports
from services.notifier.consumers.tickets import HANDLERS
from services.notifier.settings import NotifierSettings
from shared.bus.port import MessageBus
from shared.runtime import ServiceRuntime, assemble_runtime
from shared.web.app import create_service_app

SETTINGS = NotifierSettings
MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = """Finds the same problem reported by many customers, opens one problem for ops, and tells
every affected customer when it is fixed. Errors are RFC 9457 problem+json."""


def build_runtime(settings: NotifierSettings | None = None, *, bus: MessageBus | None = None) -> ServiceRuntime:
    """The notifier runtime; pass `bus` to share one (embedded mode) instead of owning its own."""
    return assemble_runtime(settings or NotifierSettings(), migrations=MIGRATIONS, handlers=HANDLERS, bus=bus)


def create_app(runtime: ServiceRuntime | None = None, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        runtime or build_runtime(),
        title="firstcall notifier",
        description=DESCRIPTION,
        routers=[reports.router],
        manage_runtime=manage_runtime,
    )
