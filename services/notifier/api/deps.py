"""What the notifier's routes share: its settings, who may call what, bounded inputs, idempotent writes, and
the answers only some routes give (documented in their `responses=`)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

from services.notifier.settings import NotifierSettings
from shared.errors import PROBLEM_BASE, PROBLEM_JSON
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


# The ids in paths, with an example each for the document (the routes take them as `{name:uuid}`).
ProblemId = Annotated[uuid.UUID, Path(examples=["1a393a70-4f8c-4183-87e7-a1deaf2bff90"])]
NotificationId = Annotated[uuid.UUID, Path(examples=["6b1e3c5a-7d9f-4b2a-8c4e-0f1a2b3c4d50"])]
SubscriptionId = Annotated[uuid.UUID, Path(examples=["4e1c8bf9-9503-4dd6-a90a-7764955b9661"])]
CustomerId = Annotated[uuid.UUID, Path(examples=["c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c50"])]
TicketId = Annotated[uuid.UUID, Path(examples=["5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10"])]


def idempotency_scope(principal: Principal, operation: str) -> str:
    """Keys are per caller: two clients using the same key string never see each other's responses."""
    return f"{principal.key_id} {operation}"


# Offsets page through lists ops narrow with filters; deeper than this a filter is the way, not a page.
MAX_OFFSET = 100_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip, at most {MAX_OFFSET:,}")]


# RFC 3339, the `date-time` the OpenAPI document names: a date, a time to the second, an offset or Z.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})")


def _written_as_a_date_time(value: Any) -> Any:
    """pydantic reads a number (`0.5`, `1700000000`) as a Unix time: a client sending one has a bug to hear of."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise PydanticCustomError(
            "datetime_format",
            "must be an RFC 3339 date-time (ISO 8601 to the second, with its time zone), like 2026-11-24T08:00:00Z",
        )
    return value


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+05:00 is before the first moment Python can hold in UTC
        raise ValueError("must fall between the years 1 and 9999 in UTC") from exc


# A moment written as a date-time with its time zone (a naive one could mean any of 26 hours; a number is not a
# date), in UTC as every column holds it. Every date-time the notifier's API reads is one.
Instant = Annotated[AwareDatetime, BeforeValidator(_written_as_a_date_time), AfterValidator(_in_utc)]


def conflict(description: str, *, slug: str, detail: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` entry for the 409 it sends (shared/web/openapi.py gives it the problem shape)."""
    example = {"type": PROBLEM_BASE + slug, "title": "Conflict with the current state", "status": 409, "detail": detail}
    return {409: {"description": description, "content": {PROBLEM_JSON: {"example": example}}}}
