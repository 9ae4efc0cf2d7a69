"""Issuing and revoking API keys; every service learns of them from ApiKeyIssued/ApiKeyRevoked."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.agents.models import Agent
from shared.errors import NotFound, invalid
from shared.events.catalogue import ApiKeyIssued, ApiKeyRevoked
from shared.messaging.outbox import add_events
from shared.messaging.tables import api_keys
from shared.web.auth import hash_key, new_key, revoke_key, store_key
from shared.web.pagination import Keyset, fetch_page

KEYS_IN_ORDER = Keyset("api-keys", ((api_keys.c.created_at, False), (api_keys.c.key_id, False)))


async def issue_key(
    *,
    session: AsyncSession,
    name: str,
    scopes: list[str],
    agent_id: uuid.UUID | None,
    rate_limit_per_minute: int,
    secret: str,
    now: datetime,
) -> tuple[str, str]:
    """A new key (id, full key): stored here as a keyed hash, announced to the other services."""
    if agent_id is not None and await session.scalar(select(Agent.id).where(Agent.id == agent_id)) is None:
        raise invalid("body.agent_id", f"no agent with id {agent_id}", type="not_found")
    key_id, key = new_key()
    digest = hash_key(secret, key)
    await store_key(
        session,
        key_id=key_id,
        key_hash=digest,
        name=name,
        scopes=scopes,
        agent_id=agent_id,
        rate_limit_per_minute=rate_limit_per_minute,
        created_at=now,
    )
    await add_events(
        session,
        ApiKeyIssued(
            key_id=key_id,
            key_hash=digest,
            label=name,
            scopes=scopes,
            agent_id=agent_id,
            rate_limit_per_minute=rate_limit_per_minute,
            issued_at=now,
        ),
    )
    return key_id, key


async def revoke(*, session: AsyncSession, key_id: str, now: datetime) -> None:
    """Stop a key everywhere (this service at once, the others when the event arrives)."""
    if not await revoke_key(session, key_id=key_id, revoked_at=now):
        raise NotFound("API key", key_id)
    await add_events(session, ApiKeyRevoked(key_id=key_id, revoked_at=now))


async def list_keys(*, session: AsyncSession, limit: int, cursor: str | None) -> tuple[list[Row[Any]], str | None]:
    """A page of keys' metadata (never a key or its hash), oldest first, and the cursor of the next."""
    columns = [c for c in api_keys.c if c.name != "key_hash"]
    return await fetch_page(session, select(*columns), KEYS_IN_ORDER, limit=limit, cursor=cursor, scalars=False)
