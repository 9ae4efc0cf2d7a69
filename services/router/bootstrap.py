"""Wiring of the router: settings, database, bus, consumers, background parts and HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.router.api import (
    agents,
    api_keys,
    customer_identities,
    customers,
    data_keys,
    desktop,
    erasure,
    feedback,
    intents,
    offered_resolutions,
    orders,
    resolutions,
    stats,
    ticket_life,
    ticket_lists,
    tickets,
)
from services.router.api.deps import RouterComponents
from services.router.classification.service import IntentClassifier, IntentProfiles
from services.router.consumers.events import handlers
from services.router.context.knowledge_client import KnowledgeClient
from services.router.data_keys.opener import open_with_own_keys
from services.router.data_keys.service import CustomerSealer
from services.router.desktop.problem_links import announcing_problem_links
from services.router.desktop.push import install_desktop_push
from services.router.erasure.handlers import HANDLERS as ERASURE_HANDLERS
from services.router.metrics import RouterMetrics
from services.router.routing.sla import SlaMonitor
from services.router.settings import RouterSettings
from services.router.tickets.closing import QuietPeriodCloser
from shared.bus.port import MessageBus
from shared.events.catalogue import Event
from shared.messaging.inbox import EventHandler
from shared.messaging.outbox import seal_staged_events
from shared.runtime import ServiceRuntime, assemble_runtime
from shared.sealing import key_encryption_key
from shared.web.app import create_service_app

SETTINGS = RouterSettings
MIGRATIONS = Path(__file__).parent / "migrations"
HANDLERS: dict[type[Event], EventHandler] = {**handlers(RouterSettings.model_construct()), **ERASURE_HANDLERS}
API_ROUTERS = [
    tickets.router,
    ticket_lists.router,
    ticket_life.router,
    resolutions.router,
    offered_resolutions.router,
    feedback.router,
    customers.router,
    customer_identities.router,
    erasure.router,
    data_keys.router,
    orders.router,
    agents.router,
    intents.router,
    stats.router,
    api_keys.router,
    desktop.router,
]
DESCRIPTION = """The front door for contact-center software and the brain that decides who takes each ticket,
so that the first person a customer reaches can resolve the issue.

- **Authentication:** every endpoint but the health probes takes an API key (`Authorization: Bearer <key>`)
  with a scope: contact-center, agent, supervisor, ops, service or admin. Keys are rate limited (429 + Retry-After).
- **Writes** accept an `Idempotency-Key`: a retry gets the first answer and changes nothing.
- **Errors** are RFC 9457 `application/problem+json` naming the invalid field or the policy rule."""


def build_runtime(settings: RouterSettings | None = None, *, bus: MessageBus | None = None) -> ServiceRuntime:
    """The router's runtime; pass `bus` to share one (embedded mode) instead of owning its own."""
    settings = settings or RouterSettings()
    metrics = RouterMetrics()
    # Problems on open tickets reach the desktops.
    consumed = announcing_problem_links({**handlers(settings), **ERASURE_HANDLERS})
    runtime = assemble_runtime(settings, migrations=MIGRATIONS, handlers=consumed, bus=bus, metrics=metrics)
    runtime.database.on_commit(metrics.record_committed)
    kek = key_encryption_key(settings.secret_key.get_secret_value())
    if settings.seal_personal_fields:
        seal_staged_events(runtime.database, CustomerSealer(kek=kek))
    # The notifier seals problem summaries and reports per author: the router opens them with its own keys.
    open_with_own_keys(runtime, kek)
    key = settings.knowledge_api_key or settings.admin_api_key
    router = RouterComponents(
        settings=settings,
        classifier=IntentClassifier(
            runtime.database, settings.intent_confidence_threshold, encoder=settings.intent_encoder
        ),
        profiles=IntentProfiles(settings.intent_profile_refresh_seconds),
        knowledge=KnowledgeClient(
            str(settings.knowledge_url), key.get_secret_value() if key else None, settings.knowledge_timeout_ms
        ),
        metrics=metrics,
    )
    runtime.components += [
        router.classifier,
        router.knowledge,
        SlaMonitor(database=runtime.database, settings=settings, metrics=metrics),
        QuietPeriodCloser(database=runtime.database, settings=settings),
    ]
    runtime.extensions["router"] = router
    install_desktop_push(runtime, settings)
    return runtime


def create_app(runtime: ServiceRuntime | None = None, *, manage_runtime: bool = True) -> FastAPI:
    runtime = runtime or build_runtime()
    app = create_service_app(
        runtime,
        title="firstcall router",
        description=DESCRIPTION,
        routers=API_ROUTERS,
        manage_runtime=manage_runtime,
    )
    app.state.router = runtime.extensions["router"]
    return app
