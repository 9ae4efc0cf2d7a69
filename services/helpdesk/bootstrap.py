"""Wiring of the helpdesk bridge: settings, database, bus, consumers, the RT and router clients, routes.

Without FIRSTCALL_HELPDESK_RT_URL the bridge consumes nothing and talks to nobody: it serves its admin
API only (agent links can be prepared before RT is connected), and `firstcall run` leaves it out.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.helpdesk import consumers
from services.helpdesk.api import agent_links, sync
from services.helpdesk.bridge import Bridge
from services.helpdesk.consumers import HANDLERS
from services.helpdesk.desk.port import Helpdesk
from services.helpdesk.desk.request_tracker import RequestTracker
from services.helpdesk.firstcall.client import RouterClient
from services.helpdesk.firstcall.notifier import NotifierClient
from services.helpdesk.metrics import HelpdeskMetrics
from services.helpdesk.outbound.sides import Sides
from services.helpdesk.settings import HelpdeskSettings
from shared.bus.port import MessageBus
from shared.data_keys import open_sealed_fields
from shared.runtime import ServiceRuntime, assemble_runtime
from shared.web.app import create_service_app
from shared.web.auth import ACCESS_HANDLERS

SETTINGS = HelpdeskSettings
MIGRATIONS = Path(__file__).parent / "migrations"
__all__ = ["HANDLERS", "MIGRATIONS", "SETTINGS", "build_runtime", "configured", "create_app"]
DESCRIPTION = """The helpdesk bridge: firstcall's tickets in Request Tracker with the right owner and the
agent's context, and what agents do there (replies, owner changes, resolutions, reopens) applied to
firstcall through the router's API. This API is the bridge's own: the agent <-> RT user mapping, and how
the sync stands. Errors are RFC 9457 problem+json."""


def configured(settings: HelpdeskSettings | None = None) -> bool:
    """Whether an RT is configured, so that the bridge has something to do (`firstcall run` asks)."""
    return (settings or HelpdeskSettings()).connected


def build_runtime(
    settings: HelpdeskSettings | None = None,
    *,
    bus: MessageBus | None = None,
    helpdesk: Helpdesk | None = None,
    router: RouterClient | None = None,
    notifier: NotifierClient | None = None,
    run_bridge: bool = True,
) -> ServiceRuntime:
    """The bridge's runtime; tests pass a fake `helpdesk`, a `router` client on the app in-process, and
    `run_bridge=False` to drive the bridge's halves themselves instead of its background loops (a `notifier`
    client too, for feedback decided in RT)."""
    settings = settings or HelpdeskSettings()
    connected = settings.connected or helpdesk is not None
    handlers = consumers.bind(settings) if connected else dict(ACCESS_HANDLERS)
    runtime = assemble_runtime(settings, migrations=MIGRATIONS, handlers=handlers, bus=bus)
    open_sealed_fields(runtime)
    if connected:
        if settings.feedback_enabled:
            notifier = notifier or _notifier(settings)
        sides = Sides(helpdesk or _request_tracker(settings), router or _router(settings), settings, notifier)
        runtime.extensions["sides"] = sides
        metrics = HelpdeskMetrics(runtime.metrics)
        bridge = Bridge(database=runtime.database, sides=sides, metrics=metrics, loops=run_bridge)
        runtime.extensions["bridge"] = bridge
        runtime.components.append(bridge)
    return runtime


def _request_tracker(settings: HelpdeskSettings) -> RequestTracker:
    assert settings.rt_url is not None
    assert settings.rt_token is not None
    return RequestTracker(
        base_url=str(settings.rt_url),
        token=settings.rt_token.get_secret_value(),
        user=settings.rt_user,
        timeout=settings.rt_timeout_seconds,
    )


def _router(settings: HelpdeskSettings) -> RouterClient:
    return RouterClient(
        base_url=str(settings.router_url), api_key=settings.router_key(), timeout=settings.router_timeout_seconds
    )


def _notifier(settings: HelpdeskSettings) -> NotifierClient:
    return NotifierClient(
        base_url=str(settings.notifier_url),
        api_key=settings.notifier_key(),
        timeout=settings.notifier_timeout_seconds,
    )


def create_app(runtime: ServiceRuntime | None = None, *, manage_runtime: bool = True) -> FastAPI:
    return create_service_app(
        runtime or build_runtime(),
        title="firstcall helpdesk bridge",
        description=DESCRIPTION,
        routers=[agent_links.router, sync.router],
        manage_runtime=manage_runtime,
    )
