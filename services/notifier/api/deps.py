"""What the notifier's routes share: its settings, who may call what, bounded inputs, idempotent writes, and
the answers only some routes give (documented in their `responses=`)."""

from __future__ import annotations

import uuid
from typing import Annotated, cast

from fastapi import Depends, Path

from services.notifier.settings import NotifierSettings
from shared.web.app import RuntimeDep
from shared.web.auth import Principal, Scope, require
from shared.web.inputs import Instant
from shared.web.problems import conflict

# Every date-time the notifier's API reads is an `Instant`, every 409 it documents a `conflict`: the routes
# import both from here with the rest of what they share.
__all__ = ["Instant", "conflict"]


def get_settings(runtime: RuntimeDep) -> NotifierSettings:
    return cast(NotifierSettings, runtime.settings)


SettingsDep = Annotated[NotifierSettings, Depends(get_settings)]
# Who may call what (admin may call everything); docs/notifier.md#access is the table, checked by a test.
# Ops run problems, subscriptions, deliveries and templates; everyone who serves customers reads reports and
# preferences; those who talk to the customer record the customer's choices, which ops only read.
Ops = Annotated[Principal, Depends(require(Scope.OPS))]
Reader = Annotated[Principal, Depends(require(Scope.OPS, Scope.AGENT, Scope.SUPERVISOR, Scope.CONTACT_CENTER))]
CustomerDesk = Annotated[Principal, Depends(require(Scope.CONTACT_CENTER, Scope.AGENT, Scope.SUPERVISOR))]


# The ids in paths, with an example each for the document (the routes take them as `{name:uuid}`).
ProblemId = Annotated[uuid.UUID, Path(examples=["1a393a70-4f8c-4183-87e7-a1deaf2bff90"])]
NotificationId = Annotated[uuid.UUID, Path(examples=["6b1e3c5a-7d9f-4b2a-8c4e-0f1a2b3c4d50"])]
SubscriptionId = Annotated[uuid.UUID, Path(examples=["4e1c8bf9-9503-4dd6-a90a-7764955b9661"])]
CustomerId = Annotated[uuid.UUID, Path(examples=["c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c50"])]
TicketId = Annotated[uuid.UUID, Path(examples=["5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10"])]


def idempotency_scope(principal: Principal, operation: str) -> str:
    """Keys are per caller: two clients using the same key string never see each other's responses."""
    return f"{principal.key_id} {operation}"
