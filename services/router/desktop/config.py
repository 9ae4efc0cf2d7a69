"""How the desktop streams behave: what the router's settings already say, and the stream's own limits."""

from __future__ import annotations

from dataclasses import dataclass

from services.router.settings import RouterSettings


@dataclass(frozen=True)
class DesktopPushConfig:
    """The stream's limits and pace (docs/desktop-push.md#limits)."""

    heartbeat_seconds: float = 15.0  # a comment this often keeps proxies (60 s idle timeouts) from closing it
    stream_lifetime_seconds: float = 1800.0  # then the client reconnects: spreads streams over new replicas
    streams_per_key: int = 8  # per process: a desktop, a few tabs, a wallboard
    streams_per_process: int = 1000
    retry_ms: int = 2000  # what EventSource waits before reconnecting
    poll_seconds: float = 0.5  # for events committed by other replicas; local commits wake the tail at once
    idle_poll_seconds: float = 1.0  # while no stream is open
    coalesce_seconds: float = 0.01
    gap_grace_seconds: float = 1.0  # see OutboxTail: how long a missing position may take to get its xid
    ring_size: int = 10_000  # recent notices kept in memory; older ones are read from the outbox
    page_size: int = 500
    at_risk_share: float = 0.8  # a first response is at risk once this share of its time has passed
    at_risk_check_seconds: float = 15.0

    @classmethod
    def from_settings(cls, settings: RouterSettings) -> DesktopPushConfig:
        """The router's settings where they already say it: the outbox poll, the SLA sweep's pace."""
        return cls(
            poll_seconds=settings.outbox_poll_interval_ms / 1000,
            idle_poll_seconds=max(1.0, settings.outbox_poll_interval_ms / 1000),
            coalesce_seconds=settings.outbox_coalesce_ms / 1000,
            at_risk_check_seconds=settings.sla_check_seconds,
        )
