"""Prometheus metrics every service exposes on /metrics.

Each service has its own registry, so in embedded mode (three services in one process) every /metrics
endpoint still reports only its own service.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

# `*_created` series double every counter's cardinality and no dashboard of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    """The metric families shared by all services; domain metrics are added by each service."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
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
            "Events taken from the bus, by outcome (handled, duplicate, ignored, retried, dead_lettered)",
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

    def render(self) -> bytes:
        """The text exposition format for a scrape."""
        return generate_latest(self.registry)
