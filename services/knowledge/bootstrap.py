"""Wiring of the knowledge service: settings, database, bus, consumers and HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.knowledge.api import suggestions
from services.knowledge.consumers.tickets import HANDLERS
from services.knowledge.settings import KnowledgeSettings
from shared.bus.port import MessageBus
from shared.runtime import ServiceRuntime, assemble_runtime
from shared.web.app import create_service_app

SETTINGS = KnowledgeSettings
MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = """Answers and known-issue status for the first agent: articles, search, suggestions for
every ticket. Errors are RFC 9457 problem+json."""


def build_runtime(settings: KnowledgeSettings | None = None, *, bus: MessageBus | None = None) -> ServiceRuntime:
    """The knowledge runtime; pass `bus` to share one (embedded mode) instead of owning its own."""
    return assemble_runtime(settings or KnowledgeSettings(), migrations=MIGRATIONS, handlers=HANDLERS, bus=bus)


def create_app(runtime: ServiceRuntime | None = None, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        runtime or build_runtime(),
        title="firstcall knowledge",
        description=DESCRIPTION,
        routers=[suggestions.router],
        manage_runtime=manage_runtime,
    )
