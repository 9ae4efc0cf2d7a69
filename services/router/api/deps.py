"""What the router's endpoints depend on: its components, and who may call what."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from services.router.classification.service import IntentClassifier, IntentProfiles
from services.router.context.knowledge_client import KnowledgeClient
from services.router.metrics import RouterMetrics
from services.router.settings import RouterSettings
from shared.web.auth import Principal, Scope, require
from shared.web.problems import declared

# A route's `responses=` entry for a status only it sends: the routes import `declared` from here.
__all__ = ["declared"]


@dataclass
class RouterComponents:
    """The router's own parts besides the shared runtime (set on app.state.router by the bootstrap)."""

    settings: RouterSettings
    classifier: IntentClassifier
    profiles: IntentProfiles
    knowledge: KnowledgeClient
    metrics: RouterMetrics


async def get_components(request: Request) -> RouterComponents:
    components: RouterComponents = request.app.state.router
    return components


async def utcnow() -> datetime:
    return datetime.now(UTC)


Router = Annotated[RouterComponents, Depends(get_components)]
Now = Annotated[datetime, Depends(utcnow)]

# The scopes each dependency admits, admin included: docs/router.md's scope table is generated from this
# (services/router/access/scope_table.py) and a test calls every operation with every scope against it.
ADMITTED: dict[Callable[..., Coroutine[Any, Any, Principal]], frozenset[Scope]] = {}


def _admitting(*scopes: Scope) -> Callable[..., Coroutine[Any, Any, Principal]]:
    dependency = require(*scopes)
    ADMITTED[dependency] = frozenset({*scopes, Scope.ADMIN})
    return dependency


# Who may call what (admin may call everything). The contact center opens tickets and records orders, and
# reads tickets, customers and orders; how the router is staffed and decides (agents, intents, routing,
# classification) is for agents, supervisors and ops.
Intake = Annotated[Principal, Depends(_admitting(Scope.CONTACT_CENTER, Scope.AGENT, Scope.SUPERVISOR))]
Reader = Annotated[Principal, Depends(_admitting(Scope.CONTACT_CENTER, Scope.AGENT, Scope.SUPERVISOR, Scope.OPS))]
StaffReader = Annotated[Principal, Depends(_admitting(Scope.AGENT, Scope.SUPERVISOR, Scope.OPS))]
AgentWork = Annotated[Principal, Depends(_admitting(Scope.AGENT, Scope.SUPERVISOR))]
Supervisor = Annotated[Principal, Depends(_admitting(Scope.SUPERVISOR))]
Operations = Annotated[Principal, Depends(_admitting(Scope.OPS, Scope.SUPERVISOR))]
Admin = Annotated[Principal, Depends(_admitting(Scope.ADMIN))]
ServiceOnly = Annotated[Principal, Depends(_admitting(Scope.SERVICE))]


def idempotency_scope(principal: Principal, operation: str) -> str:
    """Keys are per caller: two clients using the same key string never see each other's responses."""
    return f"{principal.key_id} {operation}"
