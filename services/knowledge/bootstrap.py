"""Wiring of the knowledge service: settings, database, bus, search replica, consumers and HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.knowledge import consumers
from services.knowledge.api import articles, known_issues, search, suggestions
from services.knowledge.consumers import HANDLERS as TICKET_AND_PROBLEM_HANDLERS
from services.knowledge.erasure.handlers import HANDLERS as ERASURE_HANDLERS
from services.knowledge.erasure.handlers import with_erasure
from services.knowledge.search.replica import SearchReplica, attach
from services.knowledge.settings import KnowledgeSettings
from shared.bus.port import MessageBus
from shared.data_keys import open_sealed_fields
from shared.db import Database
from shared.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime, assemble_runtime
from shared.web.app import create_service_app

SETTINGS = KnowledgeSettings
MIGRATIONS = Path(__file__).parent / "migrations"
HANDLERS = {**TICKET_AND_PROBLEM_HANDLERS, **ERASURE_HANDLERS}
__all__ = ["HANDLERS", "MIGRATIONS", "SETTINGS", "build_runtime", "create_app"]
DESCRIPTION = """Answers and known-issue status for the first agent: versioned articles, search that copes
with how customers write, suggestions for every ticket, feedback that teaches ranking, and known issues
drafted from the problems many customers report. Errors are RFC 9457 problem+json; writes accept an
`Idempotency-Key`."""


def build_runtime(settings: KnowledgeSettings | None = None, *, bus: MessageBus | None = None) -> ServiceRuntime:
    """The knowledge runtime; pass `bus` to share one (embedded mode) instead of owning its own."""
    settings = settings or KnowledgeSettings()
    replica = SearchReplica(refresh_seconds=settings.search_refresh_ms / 1000)
    runtime = assemble_runtime(settings, migrations=MIGRATIONS, handlers=with_erasure(consumers.bind(replica)), bus=bus)
    attach(runtime.database, replica)
    open_sealed_fields(runtime)
    runtime.components.append(IndexWarmup(runtime.database, replica, runtime.metrics))
    return runtime


class IndexWarmup:
    """Builds the search index while the service starts, so the first search or ticket does not pay for it."""

    def __init__(self, database: Database, replica: SearchReplica, metrics: ServiceMetrics) -> None:
        self.database, self.replica, self.metrics = database, replica, metrics

    async def start(self) -> None:
        self.metrics.set_ready("search_index", False)
        async with self.database.session() as session:
            await self.replica.catch_up(session, force=True)
        self.metrics.set_ready("search_index", True)

    async def stop(self) -> None:
        return None


def create_app(runtime: ServiceRuntime | None = None, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        runtime or build_runtime(),
        title="firstcall knowledge",
        description=DESCRIPTION,
        routers=[articles.router, search.router, known_issues.router, suggestions.router],
        manage_runtime=manage_runtime,
    )
