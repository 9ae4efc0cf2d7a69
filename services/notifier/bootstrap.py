"""Wiring of the notifier: settings, database, bus, consumers, delivery worker and HTTP routes."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from services.notifier.api import (
    customers,
    desktop_webhooks,
    digest,
    feedback,
    insights,
    notifications,
    problems,
    questions,
    reports,
    subscriptions,
    templates,
)
from services.notifier.board import routes as board
from services.notifier.board.hub import BoardHub
from services.notifier.consumers import handlers, tickets
from services.notifier.delivery.worker import DeliveryWorker
from services.notifier.detection.maintenance import IndexMaintenance
from services.notifier.erasure.handlers import with_erasure
from services.notifier.feedback.escalation import FeedbackEscalator
from services.notifier.insights.sending import DigestSender
from services.notifier.metrics import NotifierMetrics
from services.notifier.problems.census import ProblemCensus
from services.notifier.settings import NotifierSettings
from shared.bus.port import MessageBus
from shared.data_keys import open_sealed_fields
from shared.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime, assemble_runtime
from shared.web.app import create_service_app

SETTINGS = NotifierSettings
# The events this service handles (the AsyncAPI document reads it); the runtime binds them to its settings.
HANDLERS = with_erasure(handlers(NotifierSettings.model_construct()))
MIGRATIONS = Path(__file__).parent / "migrations"
DESCRIPTION = """Finds the same problem reported by many customers, opens one problem for ops, alerts
subscribed teams and systems with signed webhooks, and tells every affected customer what is known and,
once, when it is fixed. Errors are RFC 9457 problem+json; writes accept an `Idempotency-Key`."""


def build_runtime(settings: NotifierSettings | None = None, *, bus: MessageBus | None = None) -> ServiceRuntime:
    """The notifier runtime (with its delivery worker); pass `bus` to share one (embedded mode)."""
    settings = settings or NotifierSettings()
    metrics = ServiceMetrics(settings.service_name)
    runtime = assemble_runtime(
        settings,
        migrations=MIGRATIONS,
        handlers=with_erasure(handlers(settings)),
        bus=bus,
        metrics=metrics,
        # The reports a fetch brought are encoded in one batch, then received one by one (decision 0036).
        prepare=partial(tickets.prepare_opened, settings=settings),
    )
    # The router seals: seal problem events from the first, even before a sealed event is met (decision 0031).
    open_sealed_fields(runtime).router_seals = settings.seal_personal_fields
    notifier_metrics = NotifierMetrics(metrics)
    worker = DeliveryWorker(database=runtime.database, settings=settings, metrics=notifier_metrics)
    # Loads the sentence encoder: a missing `mpnet` (or `minilm`) extra, or a graph that cannot be built,
    # fails here, at start, not on the first ticket.
    maintenance = IndexMaintenance(database=runtime.database, settings=settings, metrics=notifier_metrics)
    census = ProblemCensus(database=runtime.database, metrics=notifier_metrics)
    hub = BoardHub(database=runtime.database, poll_seconds=settings.board_poll_seconds)
    escalator = FeedbackEscalator(database=runtime.database, settings=settings, registry=metrics.registry)
    digest = DigestSender(database=runtime.database, settings=settings)
    runtime.components.extend([worker, maintenance, census, hub, escalator, digest])
    board.attach(runtime.extensions, hub)
    runtime.extensions["delivery_worker"] = worker
    runtime.extensions["index_maintenance"] = maintenance
    runtime.extensions["feedback_escalator"] = escalator
    runtime.extensions["digest_sender"] = digest
    return runtime


def create_app(runtime: ServiceRuntime | None = None, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        runtime or build_runtime(),
        title="firstcall notifier",
        description=DESCRIPTION,
        routers=[
            reports.router,
            problems.router,
            feedback.router,
            questions.router,
            insights.router,
            digest.router,
            subscriptions.router,
            desktop_webhooks.router,
            notifications.router,
            customers.router,
            templates.router,
            board.router,
        ],
        manage_runtime=manage_runtime,
    )
