"""The router's own Prometheus metrics: the first-contact figures of /v1/stats, as time series."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import Session

from shared.metrics import ServiceMetrics

# session.info keys: what a transaction did that the metrics count once it has committed.
FIRST_ASSIGNMENTS = "firstcall_first_assignments"
RESOLVED = "firstcall_resolved_tickets"


class RouterMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("router")
        r = self.registry
        self.tickets_opened = Counter(
            "firstcall_tickets_opened_total", "Tickets opened", ["channel", "intent"], registry=r
        )
        self.tickets_resolved = Counter(
            "firstcall_tickets_resolved_total",
            "Tickets resolved; first_contact=true when resolved without a transfer",
            ["channel", "intent", "first_contact"],
            registry=r,
        )
        self.tickets_reopened = Counter(
            "firstcall_tickets_reopened_total",
            "Resolved tickets reopened (revokes first contact)",
            ["channel"],
            registry=r,
        )
        self.transfers = Counter("firstcall_ticket_transfers_total", "Transfers by reason", ["reason"], registry=r)
        self.time_to_assignment = Histogram(
            "firstcall_time_to_assignment_seconds",
            "From opening to the first assignment",
            ["channel"],
            buckets=(0.01, 0.1, 1, 5, 30, 60, 300, 900, 1800, 3600, 14400),
            registry=r,
        )
        self.queue_depth = Gauge("firstcall_queue_depth", "Tickets waiting for an agent", ["channel"], registry=r)
        self.sla_breaches = Counter(
            "firstcall_sla_breaches_total",
            "First responses that missed their due time",
            ["priority", "action"],
            registry=r,
        )
        self.resolutions = Counter(
            "firstcall_resolutions_total", "Resolution requests by outcome", ["type", "outcome"], registry=r
        )

    def record_committed(self, session: Session) -> None:
        """After a commit (Database.on_commit): the first assignments and resolutions it made."""
        for channel, waited in session.info.pop(FIRST_ASSIGNMENTS, ()):
            self.time_to_assignment.labels(channel).observe(waited)
        for channel, intent, first_contact in session.info.pop(RESOLVED, ()):
            self.tickets_resolved.labels(channel, intent, "true" if first_contact else "false").inc()
