"""A running service: database, bus, outbox relay and consumers, started and stopped in the right order.

Start: migrate, connect the bus, start the relay, then the consumers. Stop (after the HTTP server stopped
taking requests): consumers finish the record in hand and commit, then the relay flushes what is pending,
then the connections close. Nothing is lost by stopping; at worst something is delivered again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from shared.bus.batching import Prepare, PreparingHandler
from shared.bus.factory import make_bus
from shared.bus.port import Consumer, HandlerUnavailable, MessageBus, PoisonEvent
from shared.db import Database
from shared.events.catalogue import Event
from shared.events.envelope import CloudEvent
from shared.events.topics import TopicSpec, dead_letter_topic
from shared.messaging.inbox import EventDispatcher, EventHandler
from shared.messaging.outbox import OutboxRelay
from shared.metrics import ServiceMetrics
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings
from shared.web.auth import Authenticator
from shared.web.rate_limit import RateLimitSync

log = logging.getLogger(__name__)


class Component(Protocol):
    """A service's own background part (a sweep, a model cache, an HTTP client) with a lifecycle."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class ConsumerBinding:
    """A service's consumer group: which topics feed which dispatcher, and what it may do ahead for the
    records of a fetch before each is dispatched alone (shared/bus/batching.py; None: nothing)."""

    dispatcher: EventDispatcher
    topics: Sequence[TopicSpec]
    prepare: Prepare | None = None


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    database: Database
    bus: MessageBus
    metrics: ServiceMetrics
    migrate: Callable[[Database], Awaitable[None]]
    consumers: Sequence[ConsumerBinding] = ()
    owns_bus: bool = True
    components: list[Component] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)  # a service's own parts, for its endpoints
    relay: OutboxRelay = field(init=False)
    authenticator: Authenticator = field(init=False)
    _running: list[Consumer] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.relay = OutboxRelay(
            database=self.database,
            bus=self.bus,
            metrics=self.metrics,
            physical_topic=s.topic,
            batch_size=s.outbox_batch_size,
            poll_interval=s.outbox_poll_interval_ms / 1000,
            retention=timedelta(hours=s.outbox_retention_hours),
            coalesce=s.outbox_coalesce_ms / 1000,
            coalesce_max=s.outbox_coalesce_max_ms / 1000,
        )
        admin = s.admin_api_key.get_secret_value() if s.admin_api_key else None
        self.authenticator = Authenticator(
            database=self.database,
            secret=s.secret_key.get_secret_value(),
            admin_key=admin,
        )
        # First in, last out: it starts once migrations ran and hands its last counts over at stop.
        self.components.insert(
            0,
            RateLimitSync(
                limiter=self.authenticator.limiter, database=self.database, interval=s.rate_limit_sync_ms / 1000
            ),
        )

    @property
    def name(self) -> str:
        return self.settings.service_name

    async def start(self) -> None:
        if self.settings.migrate_on_start:
            await self.migrate(self.database)
        if self.owns_bus:
            await self.bus.start()
        await self.relay.start()
        for component in self.components:
            await component.start()
        for binding in self.consumers:
            subscription = binding.dispatcher.subscription(
                topics=[self.settings.topic(t.name) for t in binding.topics],
                dead_letter_topic=self.settings.topic(dead_letter_topic(binding.dispatcher.group).name),
                max_attempts=self.settings.consumer_max_attempts,
                backoff_ms=self.settings.consumer_retry_backoff_ms,
            )
            if binding.prepare is not None:
                prepare = _opened_first(binding.dispatcher, binding.prepare)
                subscription = replace(subscription, handler=PreparingHandler(subscription.handler, prepare))
            # The group id carries the environment's prefix; the log lines keep the service's own name.
            prefixed = replace(
                subscription, group=self.settings.consumer_group(subscription.group), service=subscription.group
            )
            consumer = self.bus.consumer(prefixed)
            await consumer.start()
            self._running.append(consumer)
        log.info("%s started", self.name)

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace_seconds
        for consumer in self._running:
            try:
                await asyncio.wait_for(consumer.stop(), grace)
            except TimeoutError:
                log.warning("%s: a consumer did not stop within %.0fs", self.name, grace)
        self._running.clear()
        for component in reversed(self.components):
            await component.stop()
        await self.relay.stop(flush_timeout=grace)
        if self.owns_bus:
            await self.bus.stop()
        await self.database.dispose()
        log.info("%s stopped", self.name)

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready when the database answers; a bus outage only degrades (the outbox holds the events)."""
        database_ok = await self.database.ping()
        bus = await self.bus.health()
        self.metrics.bus_up.set(1 if bus.ok else 0)  # probes keep it current for an idle service too
        checks: dict[str, Any] = {
            "database": "ok" if database_ok else "unreachable",
            "bus": "ok" if bus.ok else f"degraded: {bus.detail}",
        }
        if database_ok:
            pending = await self.relay.pending()
            self.metrics.outbox_pending.set(pending)
            checks["outbox_pending"] = pending
        status = "ok" if database_ok and bus.ok else ("degraded" if database_ok else "unavailable")
        return database_ok, {"status": status, "service": self.name, "checks": checks}


def assemble_runtime(
    settings: ServiceSettings,
    *,
    migrations: Path,
    handlers: Mapping[type[Event], EventHandler] | None = None,
    bus: MessageBus | None = None,
    metrics: ServiceMetrics | None = None,
    prepare: Prepare | None = None,
) -> ServiceRuntime:
    """A service's runtime from its settings: its database, the bus (its own unless one is shared),
    and one consumer group (named after the service) fed by the topics its handlers' events travel on;
    `prepare` is the group's work ahead on a fetch's records (ConsumerBinding.prepare)."""
    database = Database(settings.resolved_database_url(), pool_size=settings.database_pool_size)
    metrics = metrics or ServiceMetrics(settings.service_name)
    consumers: list[ConsumerBinding] = []
    if handlers:
        dispatcher = EventDispatcher(group=settings.service_name, database=database, handlers=handlers, metrics=metrics)
        topics = {cls.topic.name: cls.topic for cls in handlers}
        consumers.append(ConsumerBinding(dispatcher, [topics[name] for name in sorted(topics)], prepare))
    return ServiceRuntime(
        settings=settings,
        database=database,
        bus=bus or make_bus(settings),
        owns_bus=bus is None,
        metrics=metrics,
        migrate=lambda db: upgrade_to_head(db, migrations),
        consumers=consumers,
    )


def _opened_first(dispatcher: EventDispatcher, prepare: Prepare) -> Prepare:
    """`prepare`, given the events as their handler will see them: with the router's sealed fields opened by
    the dispatcher's opener (set after assembly by services that read sealed events). A sealed TicketOpened
    validated as it came would fail and miss the batch. What cannot be opened now (its key unreachable, an
    erased customer, a damaged seal) is left to its own delivery, which knows what to do with it."""

    async def opened(envelopes: Sequence[CloudEvent]) -> None:
        opener = dispatcher.opener
        if opener is None:
            await prepare(envelopes)
            return
        ready: list[CloudEvent] = []
        for envelope in envelopes:
            try:
                data = await opener(envelope)
            except HandlerUnavailable:
                break  # the router is away: every key would wait as long; the records will wait for it anyway
            except PoisonEvent:
                continue
            if data is not None:
                ready.append(envelope if data is envelope.data else envelope.model_copy(update={"data": data}))
        await prepare(ready)

    return opened
