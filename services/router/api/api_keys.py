"""/v1/api-keys: issuing keys with scopes (admin only); a key is shown once, at creation.

A key never rests in plain text, also not in the idempotency record that answers retries: that record
holds the key's metadata only, and a retry of a create gets a 409 naming the key issued the first time
(to revoke it and issue another), never the key and never a second key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.access import service as access_service
from services.router.api.deps import Admin, Now, idempotency_scope
from services.router.inputs import Integer
from shared.errors import Problem, ProblemError
from shared.web.app import RuntimeDep, SessionDep
from shared.web.auth import Scope
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, Limit, next_page_link

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "IVR gateway", "scopes": ["contact-center"]}]},
    )

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    agent_id: uuid.UUID | None = Field(None, description="for an agent's own key: acts as this agent")
    rate_limit_per_minute: Integer | None = Field(None, ge=1, le=1_000_000)


class KeyRead(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    agent_id: uuid.UUID | None
    rate_limit_per_minute: int
    created_at: datetime
    revoked_at: datetime | None


class KeyPage(BaseModel):
    items: list[KeyRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")


class KeyIssued(KeyRead):
    key: str = Field(description="the key itself: shown only now, store it safely")


@router.post(
    "",
    response_model=KeyIssued,
    status_code=status.HTTP_201_CREATED,
    summary="Issue an API key (shown once; a retried Idempotency-Key gets 409, not the key again)",
    responses={
        409: {
            "model": Problem,
            "description": "`api-key-already-issued`: this Idempotency-Key already issued the key named in "
            "`key_id`; it is not shown again (revoke it and issue another if it was lost)",
        }
    },
)
async def issue_api_key(
    body: KeyCreate, runtime: RuntimeDep, now: Now, principal: Admin, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    settings = runtime.settings
    rate = body.rate_limit_per_minute or settings.api_rate_limit_per_minute
    shown_once: str | None = None

    async def write(session: AsyncSession) -> tuple[int, Any]:
        nonlocal shown_once
        key_id, shown_once = await access_service.issue_key(
            session=session,
            name=body.name,
            scopes=[scope.value for scope in body.scopes],
            agent_id=body.agent_id,
            rate_limit_per_minute=rate,
            secret=settings.secret_key.get_secret_value(),
            now=now,
        )
        issued = KeyRead(
            key_id=key_id,
            name=body.name,
            scopes=[scope.value for scope in body.scopes],
            agent_id=body.agent_id,
            rate_limit_per_minute=rate,
            created_at=now,
            revoked_at=None,
        )
        # What is stored for retries: the metadata, never the key.
        return status.HTTP_201_CREATED, issued.model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, "POST /v1/api-keys"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
    stored: dict[str, Any] = orjson.loads(bytes(response.body))
    if response.headers.get("idempotent-replayed") == "true" or shown_once is None:
        raise ProblemError(
            409,
            "api-key-already-issued",
            "This Idempotency-Key already issued a key",
            f"Key {stored['key_id']} was issued by the first request and is shown only once. "
            "If it was lost, revoke it and issue another.",
            headers={"Idempotent-Replayed": "true"},
            key_id=stored["key_id"],
        )
    return JSONResponse({**stored, "key": shown_once}, status_code=status.HTTP_201_CREATED)


@router.get("", response_model=KeyPage, summary="Keys' metadata (never the keys), oldest first, cursor-paginated")
async def list_api_keys(
    request: Request, response: Response, session: SessionDep, _: Admin, limit: Limit = 50, cursor: Cursor = None
) -> KeyPage:
    rows, next_cursor = await access_service.list_keys(session=session, limit=limit, cursor=cursor)
    next_page_link(request, response, next_cursor)
    return KeyPage(
        items=[
            KeyRead(
                key_id=row.key_id,
                name=row.name,
                scopes=[s for s in row.scopes.split(",") if s],
                agent_id=uuid.UUID(row.agent_id) if row.agent_id else None,
                rate_limit_per_minute=row.rate_limit_per_minute,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a key (everywhere within seconds)")
async def revoke_api_key(
    session: SessionDep, runtime: RuntimeDep, now: Now, _: Admin, key_id: str = Path(max_length=32)
) -> None:
    await access_service.revoke(session=session, key_id=key_id, now=now)
    await session.commit()
    runtime.authenticator.forget()
