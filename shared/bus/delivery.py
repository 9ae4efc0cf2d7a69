"""The delivery rules both bus adapters share: retries with backoff, then the dead-letter topic; and the
pauses while a handler's dependency is down, which spend no attempt (docs/decisions/0007)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared import tracing
from shared.bus.port import HandlerUnavailable, PoisonEvent, Record, Subscription
from shared.events.envelope import CloudEvent, Headers, MalformedEvent, from_kafka
from shared.logs import set_correlation_id, set_service

log = logging.getLogger(__name__)

DeadLetterSink = Callable[[str, Record, Headers], Awaitable[None]]
MAX_ERROR_HEADER = 4000
LONGEST_OUTAGE_PAUSE = 2.0  # seconds; a recovered database is noticed this soon at the latest


async def deliver(
    record: Record, subscription: Subscription, dead_letter: DeadLetterSink, *, system: str = "kafka"
) -> str:
    """Hand one record to the subscription's handler until it succeeds or the attempts run out.

    Returns the outcome ("handled" or "dead_lettered"). Raises HandlerUnavailable when the handler's
    dependency is down, and BusUnavailable if the dead-letter publish fails: then the caller must not commit
    the offset, and delivers the record again later.
    """
    try:
        event = from_kafka(record.value, record.headers)
    except MalformedEvent as exc:
        log.error(
            "dead-lettering a malformed record from %s/%d/%d: %s",
            record.topic,
            record.partition,
            record.offset,
            exc,
            extra={"group": subscription.group},
        )
        await dead_letter(subscription.dead_letter_topic, record, _failure_headers(record, subscription, exc, 0))
        subscription.observe("dead_lettered", "malformed")
        return "dead_lettered"
    for attempt in range(1, subscription.max_attempts + 1):
        try:
            await _call(subscription, event, record, system)
        except asyncio.CancelledError:
            raise
        except HandlerUnavailable:
            # Not the event's fault: the attempts are for events a handler cannot take, not for outages.
            subscription.observe("unavailable", event.type)
            raise
        except Exception as exc:
            if attempt == subscription.max_attempts or isinstance(exc, PoisonEvent):
                log.error(
                    "dead-lettering %s after %d attempts",
                    event.type,
                    attempt,
                    extra={"event_id": event.id, "group": subscription.group},
                    exc_info=exc,
                )
                headers = _failure_headers(record, subscription, exc, attempt)
                await dead_letter(subscription.dead_letter_topic, record, headers)
                subscription.observe("dead_lettered", event.type)
                return "dead_lettered"
            delay = subscription.retry_backoff_ms * 2 ** (attempt - 1) / 1000
            log.warning(
                "handler failed (attempt %d of %d), retrying in %.2fs: %s",
                attempt,
                subscription.max_attempts,
                delay,
                exc,
                extra={"event_id": event.id, "group": subscription.group},
            )
            subscription.observe("retried", event.type)
            await asyncio.sleep(delay)
        else:
            return "handled"
    raise AssertionError("unreachable: the loop returns on success or on the last attempt")


async def _call(subscription: Subscription, event: CloudEvent, record: Record, system: str) -> None:
    service = subscription.service or subscription.group
    set_service(service)
    set_correlation_id(event.correlationid)
    try:
        with tracing.processing(
            service,
            event,
            topic=record.topic,
            group=subscription.group,
            partition=record.partition,
            offset=record.offset,
            system=system,
        ):
            await subscription.handler(event)
    finally:
        set_correlation_id(None)


def _failure_headers(record: Record, subscription: Subscription, exc: BaseException, attempts: int) -> Headers:
    """The original headers plus why, where from and how often it failed, for whoever replays it."""
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:MAX_ERROR_HEADER]
    return [
        *record.headers,
        ("firstcall_dlt_group", subscription.group.encode()),
        ("firstcall_dlt_error", error.encode()),
        ("firstcall_dlt_attempts", str(attempts).encode()),
        ("firstcall_dlt_source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
    ]


@dataclass
class DependencyOutage:
    """A consumer's wait while its handler's dependency is down: growing pauses, a log line at each end."""

    group: str
    first_pause: float
    pauses: int = 0

    def pause(self, exc: HandlerUnavailable) -> float:
        """Seconds to wait before the record is tried again."""
        if self.pauses == 0:
            log.warning("handler unavailable, the event waits (no attempt spent): %s", exc, extra={"group": self.group})
        self.pauses += 1
        return min(max(self.first_pause, 0.001) * 2.0 ** min(self.pauses - 1, 16), LONGEST_OUTAGE_PAUSE)

    def over(self) -> None:
        """A record went through: the dependency is back."""
        if self.pauses:
            log.info("handler available again after %d pauses", self.pauses, extra={"group": self.group})
            self.pauses = 0
