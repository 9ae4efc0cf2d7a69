"""The inbox: each consumer group handles each event once, however often the bus delivers it.

The event id is recorded in the same transaction as the handler's effects. A redelivery finds the id and
does nothing; a crash before commit leaves neither the effects nor the id, so the retry does it all. A
handler that fails because the database cannot be reached raises HandlerUnavailable: the bus waits for the
database instead of spending the event's attempts on the outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.port import HandlerUnavailable, PoisonEvent, Subscription
from shared.db import Database, database_unreachable, insert_ignoring_duplicates
from shared.events.catalogue import Event, event_class
from shared.events.envelope import CloudEvent
from shared.messaging.tables import inbox
from shared.metrics import ServiceMetrics

log = logging.getLogger(__name__)

# A consumer's entry point: the typed event and the session its effects (and outbox rows) go into.
EventHandler = Callable[[Any, AsyncSession], Awaitable[None]]
# The event's data with sealed personal fields opened (shared/data_keys.py); None: its customer was erased.
Opener = Callable[[CloudEvent], Awaitable[dict[str, Any] | None]]


async def claim(session: AsyncSession, group: str, envelope: CloudEvent) -> bool:
    """Record that `group` handles this event; False if it already has."""
    return await insert_ignoring_duplicates(
        session,
        inbox,
        {
            "consumer_group": group,
            "event_id": envelope.id,
            "event_type": envelope.type,
            "handled_at": datetime.now(UTC),
        },
    )


class EventDispatcher:
    """Routes a consumer group's events to its handlers (the explicit event -> handler table), once each."""

    def __init__(
        self,
        *,
        group: str,
        database: Database,
        handlers: Mapping[type[Event], EventHandler],
        metrics: ServiceMetrics,
    ) -> None:
        self.group, self.database, self.handlers, self.metrics = group, database, handlers, metrics
        self.opener: Opener | None = None  # set by services that consume the router's sealed events

    async def __call__(self, envelope: CloudEvent) -> None:
        cls = event_class(envelope)
        handler = self.handlers.get(cls) if cls else None
        if cls is None or handler is None:
            self.metrics.events_handled.labels(self.group, envelope.type, "ignored").inc()
            return
        data = envelope.data if self.opener is None else await self.opener(envelope)
        if data is None:
            self.metrics.events_handled.labels(self.group, envelope.type, "ignored").inc()
            return
        try:
            event = cls.model_validate(data)
        except ValidationError as exc:
            raise PoisonEvent(f"{envelope.type} {envelope.id} has invalid data: {exc}") from exc
        started = time.perf_counter()
        try:
            if not await self._handle_once(envelope, event, handler):
                return
        except Exception as exc:
            if database_unreachable(exc):
                raise HandlerUnavailable(f"database unreachable: {exc!r}"[:500]) from exc
            raise
        elapsed = time.perf_counter() - started
        self.metrics.handler_latency.labels(self.group, envelope.type).observe(elapsed)
        self.metrics.events_handled.labels(self.group, envelope.type, "handled").inc()
        log.info(
            "handled %s",
            envelope.type,
            extra={"event_id": envelope.id, "subject": envelope.subject, "duration_ms": round(elapsed * 1000, 2)},
        )

    async def _handle_once(self, envelope: CloudEvent, event: Event, handler: EventHandler) -> bool:
        """Claim the event and apply the handler's effects in one transaction; False if already handled."""
        async with self.database.session() as session:
            if not await claim(session, self.group, envelope):
                self.metrics.events_handled.labels(self.group, envelope.type, "duplicate").inc()
                log.info("already handled %s %s", envelope.type, envelope.id)
                return False
            await handler(event, session)
            await session.commit()
        return True

    def subscription(
        self, *, topics: list[str], dead_letter_topic: str, max_attempts: int, backoff_ms: int
    ) -> Subscription:
        """The bus subscription that feeds this dispatcher."""
        return Subscription(
            group=self.group,
            topics=topics,
            handler=self,
            dead_letter_topic=dead_letter_topic,
            max_attempts=max_attempts,
            retry_backoff_ms=backoff_ms,
            observer=lambda outcome, event_type: self.metrics.events_handled.labels(
                self.group, event_type, outcome
            ).inc(),
        )
