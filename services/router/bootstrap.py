"""Wiring of the router: settings, database, bus, consumers and HTTP routes (tests pass fakes here)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.router.api import tickets
from services.router.settings import RouterSettings
from shared.bus.port import MessageBus
from shared.events.catalogue import Event
from shared.messaging.inbox import EventHandler
from shared.runtime import ServiceRuntime, assemble_runtime
from shared.web.app import create_service_app

SETTINGS = RouterSettings
HANDLERS: dict[type[Event], EventHandler] = {}  # the router consumes no events yet
MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = """The front door for contact-center software: open tickets, recognise the customer on any
channel, and route each ticket to the agent most likely to resolve it at first contact.
Errors are RFC 9457 problem+json; writes accept an `Idempotency-Key`."""


def build_runtime(settings: RouterSettings | None = None, *, bus: MessageBus | None = None) -> ServiceRuntime:
    """The router's runtime; pass `bus` to share one (embedded mode) instead of owning its own."""
    return assemble_runtime(settings or RouterSettings(), migrations=MIGRATIONS, handlers=HANDLERS, bus=bus)


def create_app(runtime: ServiceRuntime | None = None, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        runtime or build_runtime(),
        title="firstcall router",
        description=DESCRIPTION,
        routers=[tickets.router],
        manage_runtime=manage_runtime,
    )
