"""Prometheus metrics every service exposes on /metrics.

Each service has its own registry, so in embedded mode (three services in one process) every /metrics
endpoint still reports only its own service. Beside the families below, each registry carries
prometheus_client's process and runtime collectors (`process_*`, `python_*`) and the consumer lag of the
service's consumer groups, read from the bus consumers at scrape time (docs/operations.md lists them all).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# `*_created` series double every counter's cardinality and no dashboard of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    """The metric families shared by all services; domain metrics are added by each service."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        for default in (ProcessCollector, PlatformCollector, GCCollector):
            default(registry=r)
        r.register(ConsumerLagCollector(service))
        self.http_requests = Counter(
            "firstcall_http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "firstcall_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.http_in_flight = Gauge("firstcall_http_in_flight", "HTTP requests being served now", registry=r)
        self.http_shed = Counter(
            "firstcall_http_shed_total",
            "HTTP requests refused with 503 because the process was at capacity",
            registry=r,
        )
        self.events_published = Counter(
            "firstcall_events_published_total",
            "Events published from the outbox",
            ["topic", "type"],
            registry=r,
        )
        self.events_handled = Counter(
            "firstcall_events_handled_total",
            "Events taken from the bus, by outcome (handled, duplicate, ignored, retried, unavailable, dead_lettered)",
            ["group", "type", "outcome"],
            registry=r,
        )
        self.handler_latency = Histogram(
            "firstcall_event_handler_duration_seconds",
            "Time to handle one event, including its transaction",
            ["group", "type"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge("firstcall_outbox_pending", "Outbox events not yet published", registry=r)
        self.outbox_publish_failures = Counter(
            "firstcall_outbox_publish_failures_total", "Relay batches the bus refused", registry=r
        )
        self.bus_up = Gauge("firstcall_bus_up", "1 when the event bus accepted the last operation", registry=r)
        # Up until an operation fails, as the outbox relay assumes: a fresh process that has published
        # nothing yet must not look (and page) as if Kafka were down.
        self.bus_up.set(1)
        self.component_ready = Gauge(
            "firstcall_component_ready",
            "1 when a part the service needs to do its work well is ready (an encoder, an index), else 0",
            ["component"],
            registry=r,
        )

    def set_ready(self, component: str, ready: bool) -> None:
        """Report whether one of the service's parts (the notifier's encoder, a search index) is ready."""
        self.component_ready.labels(component).set(1 if ready else 0)

    def render(self) -> bytes:
        """The text exposition format for a scrape."""
        return generate_latest(self.registry)


@dataclass(frozen=True)
class PartitionProgress:
    """Where a consumer group stands on one partition that a member in this process owns."""

    group: str
    topic: str
    partition: int
    lag: int  # records on the partition that the group has not committed yet
    oldest_unhandled_ms: int | None  # the first of them's record timestamp, when the member has it in hand


class ConsumerProgress(Protocol):
    """A bus consumer that can tell, without I/O, how far behind its partitions are."""

    @property
    def service(self) -> str: ...

    @property
    def group(self) -> str: ...

    # Group members replaced after a failure or a stall (shared/bus/kafka.py; always 0 in memory).
    rejoins: int

    def progress(self) -> Iterable[PartitionProgress]: ...


# Consumers are created by the bus, which knows nothing of a service's metrics: they enrol here while they
# run, and each service's registry reads those of its own service at scrape time. Weak, so a consumer
# that was never stopped cannot keep reporting (or stay alive) through this table.
_CONSUMERS: weakref.WeakSet[ConsumerProgress] = weakref.WeakSet()


def track_consumer(consumer: ConsumerProgress) -> None:
    """Report this consumer's lag on its service's /metrics from now on."""
    _CONSUMERS.add(consumer)


def forget_consumer(consumer: ConsumerProgress) -> None:
    _CONSUMERS.discard(consumer)


class ConsumerLagCollector(Collector):
    """Consumer lag and the oldest unhandled record's age, per group, topic and partition.

    Computed when scraped, from what the consumers already know (no broker round trip), so a scrape
    is never slowed by Kafka. Each replica reports the partitions it owns; sum or max by partition.
    """

    def __init__(self, service: str) -> None:
        self.service = service

    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self._families()
        yield self._replaced()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        replaced = self._replaced()
        per_group: dict[str, int] = {}
        for consumer in list(_CONSUMERS):
            if consumer.service == self.service:
                per_group[consumer.group] = per_group.get(consumer.group, 0) + consumer.rejoins
        for group, count in sorted(per_group.items()):
            replaced.add_metric([group], count)
        yield replaced
        lag, age = self._families()
        now_ms = time.time() * 1000
        for key, progress in sorted(self._progress().items()):
            labels = [key[0], key[1], str(key[2])]
            lag.add_metric(labels, progress.lag)
            oldest = progress.oldest_unhandled_ms
            waited = (now_ms - oldest) / 1000 if progress.lag and oldest is not None else 0.0
            age.add_metric(labels, max(waited, 0.0))
        yield lag
        yield age

    def _progress(self) -> dict[tuple[str, str, int], PartitionProgress]:
        # During a rebalance two members here may both still claim a partition: one series each, the
        # larger lag (a duplicate series would make Prometheus reject the whole scrape).
        found: dict[tuple[str, str, int], PartitionProgress] = {}
        for consumer in list(_CONSUMERS):
            if consumer.service != self.service:
                continue
            for progress in consumer.progress():
                key = (progress.group, progress.topic, progress.partition)
                if key not in found or progress.lag > found[key].lag:
                    found[key] = progress
        return found

    @staticmethod
    def _replaced() -> CounterMetricFamily:
        return CounterMetricFamily(
            "firstcall_consumer_members_replaced",
            "Group members this process replaced after a failed or stalled poll, commit or rejoin",
            labels=["group"],
        )

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["group", "topic", "partition"]
        return (
            GaugeMetricFamily(
                "firstcall_consumer_lag_records",
                "Records on a partition that the consumer group has not committed yet",
                labels=labels,
            ),
            GaugeMetricFamily(
                "firstcall_consumer_oldest_unhandled_age_seconds",
                "Age of the oldest record the group has not handled yet (0 when it has caught up)",
                labels=labels,
            ),
        )
