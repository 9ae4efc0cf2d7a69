"""What the notifier's routes share: its settings, who may call what, and idempotent writes."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends

from services.notifier.settings import NotifierSettings
from shared.web.app import RuntimeDep
from shared.web.auth import Principal, Scope, require


def get_settings(runtime: RuntimeDep) -> NotifierSettings:
    return cast(NotifierSettings, runtime.settings)


SettingsDep = Annotated[NotifierSettings, Depends(get_settings)]
# Ops run problems, subscriptions, deliveries and templates; the first contact reads duplicates and
# records a customer's choices.
Ops = Annotated[Principal, Depends(require(Scope.OPS))]
Reader = Annotated[Principal, Depends(require(Scope.OPS, Scope.AGENT, Scope.SUPERVISOR, Scope.CONTACT_CENTER))]
CustomerDesk = Annotated[Principal, Depends(require(Scope.OPS, Scope.AGENT, Scope.CONTACT_CENTER))]
