"""The router's push to agent desktops as one component: the outbox tail, the stream limits, the at-risk
sweep and their metrics. The bootstrap installs it; the API opens streams through it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from prometheus_client import Counter, Gauge

from services.router.desktop.config import DesktopPushConfig
from services.router.desktop.sla_risk import SlaRiskMonitor
from services.router.desktop.streams import AgentStream, StreamLimits
from services.router.desktop.tail import OutboxTail
from services.router.settings import RouterSettings
from shared.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime

EXTENSION = "desktop"


class DesktopMetrics:
    def __init__(self, metrics: ServiceMetrics, limits: StreamLimits) -> None:
        r = metrics.registry
        self.streams = Gauge("firstcall_desktop_streams", "Desktop event streams open in this process", registry=r)
        self.streams.set_function(lambda: float(limits.open.total()))
        self.notices = Counter(
            "firstcall_desktop_notices_sent_total", "Notices sent on desktop streams, by event", ["event"], registry=r
        )


class DesktopPush:
    """Everything a desktop stream needs in this process."""

    def __init__(self, *, runtime: ServiceRuntime, settings: RouterSettings, config: DesktopPushConfig) -> None:
        self.config = config
        self.tail = OutboxTail(database=runtime.database, config=config)
        self.limits = StreamLimits(per_key=config.streams_per_key, per_process=config.streams_per_process)
        self.at_risk = SlaRiskMonitor(
            database=runtime.database,
            share=config.at_risk_share,
            longest_sla=timedelta(minutes=max(settings.sla_minutes.values(), default=60)),
            every=config.at_risk_check_seconds,
        )
        self.metrics = DesktopMetrics(runtime.metrics, self.limits)

    async def start(self) -> None:
        await self.tail.start()
        await self.at_risk.start()

    async def stop(self) -> None:
        await self.at_risk.stop()
        await self.tail.stop()

    def stream(self, *, agent_id: str, after: int | None, still_allowed: Callable[[], Awaitable[bool]]) -> AgentStream:
        return AgentStream(
            tail=self.tail,
            config=self.config,
            agent_id=agent_id,
            after=after,
            still_allowed=still_allowed,
            on_sent=lambda event: self.metrics.notices.labels(event).inc(),
        )


def install_desktop_push(
    runtime: ServiceRuntime, settings: RouterSettings, config: DesktopPushConfig | None = None
) -> DesktopPush:
    """Add the desktop push to a router's runtime: started and stopped with it, reachable by the API."""
    push = DesktopPush(runtime=runtime, settings=settings, config=config or DesktopPushConfig.from_settings(settings))
    runtime.components.append(push)
    runtime.extensions[EXTENSION] = push
    return push
