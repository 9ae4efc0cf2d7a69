"""What the notifier's routes share: its settings, who may call what, bounded inputs, and idempotent writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import Depends, Query
from pydantic import AfterValidator, AwareDatetime

from services.notifier.settings import NotifierSettings
from shared.web.app import RuntimeDep
from shared.web.auth import Principal, Scope, require


def get_settings(runtime: RuntimeDep) -> NotifierSettings:
    return cast(NotifierSettings, runtime.settings)


SettingsDep = Annotated[NotifierSettings, Depends(get_settings)]
# Who may call what (admin may call everything); docs/notifier.md#access is the table, checked by a test.
# Ops run problems, subscriptions, deliveries and templates; everyone who serves customers reads reports and
# preferences; those who talk to the customer record the customer's choices, which ops only read.
Ops = Annotated[Principal, Depends(require(Scope.OPS))]
Reader = Annotated[Principal, Depends(require(Scope.OPS, Scope.AGENT, Scope.SUPERVISOR, Scope.CONTACT_CENTER))]
CustomerDesk = Annotated[Principal, Depends(require(Scope.CONTACT_CENTER, Scope.AGENT, Scope.SUPERVISOR))]


def idempotency_scope(principal: Principal, operation: str) -> str:
    """Keys are per caller: two clients using the same key string never see each other's responses."""
    return f"{principal.key_id} {operation}"


# Offsets page through lists ops narrow with filters; deeper than this a filter is the way, not a page.
MAX_OFFSET = 100_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip, at most {MAX_OFFSET:,}")]


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+05:00 is before the first moment Python can hold in UTC
        raise ValueError("must fall between the years 1 and 9999 in UTC") from exc


# A moment with its time zone (a naive one could mean any of 26 hours), in UTC as every column holds it.
Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
