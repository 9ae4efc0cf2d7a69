"""API keys with scopes, checked on every endpoint, with a per-key rate limit.

A key looks like `fck_<key id>_<secret>`. Services store only HMAC-SHA256(secret_key, key), so neither a
database dump nor the `firstcall.access` topic yields a usable key. The router issues and revokes keys;
every service keeps a copy of the key table from those events, so one key works on all three services.
The bootstrap admin key comes from FIRSTCALL_ADMIN_API_KEY (required in production). Rate limits are
counted in memory and shared between replicas in the background (`shared.web.rate_limit`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.errors import ProblemError
from shared.events.access import ApiKeyIssued, ApiKeyRevoked
from shared.events.base import Event
from shared.messaging.inbox import EventHandler
from shared.messaging.tables import api_keys
from shared.web.middleware import stage_response_headers
from shared.web.rate_limit import Decision, RateLimiter

KEY_PREFIX = "fck_"
ADMIN_KEY_ID = "admin"
CACHE_SECONDS = 30.0  # a revoked key keeps working at most this long on each replica
# Unknown keys are remembered briefly: long enough to blunt guessing, short enough that a key the router
# just issued works here as soon as its event arrives.
UNKNOWN_CACHE_SECONDS = 1.0
MAX_KEY_LENGTH = 256  # ours are ~60 characters; the bootstrap key is an operator's choice
_WELL_FORMED = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")


class Scope(StrEnum):
    CONTACT_CENTER = "contact-center"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    OPS = "ops"
    ADMIN = "admin"
    # The other firstcall services, for what only they need: customers' data keys (decision 0031).
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, what it may do, and (for agents) which agent it acts as."""

    key_id: str
    name: str
    scopes: frozenset[Scope]
    agent_id: UUID | None
    rate_limit_per_minute: int

    def allows(self, *wanted: Scope) -> bool:
        return Scope.ADMIN in self.scopes or any(scope in self.scopes for scope in wanted)


def new_key() -> tuple[str, str]:
    """A fresh (key id, full key); the full key is shown to its owner once and never stored."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def hash_key(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


@dataclass
class Authenticator:
    """Checks presented keys against the service's key table (cached briefly) and meters them."""

    database: Database
    secret: str
    admin_key: str | None
    limiter: RateLimiter = field(default_factory=RateLimiter)
    _cache: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)

    async def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise _unauthorized("Send an API key as `Authorization: Bearer <key>` or `X-API-Key`.")
        if not _WELL_FORMED.fullmatch(presented):
            # Checked before any comparison: compare_digest refuses non-ASCII str (a 500 anyone could cause).
            raise _unauthorized(f"An API key is 1-{MAX_KEY_LENGTH} printable ASCII characters.")
        if self.admin_key is not None and hmac.compare_digest(presented.encode(), self.admin_key.encode()):
            return Principal(ADMIN_KEY_ID, "bootstrap admin", frozenset({Scope.ADMIN}), None, 10**6)
        principal = await self._lookup(presented)
        if principal is None:
            raise _unauthorized("The API key is unknown or revoked.")
        return principal

    async def _lookup(self, presented: str) -> Principal | None:
        now = time.monotonic()
        digest = hash_key(self.secret, presented)
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < (CACHE_SECONDS if cached[1] else UNKNOWN_CACHE_SECONDS):
            return cached[1]
        key_id = presented.removeprefix(KEY_PREFIX).split("_", 1)[0]
        async with self.database.session() as session:
            row = (await session.execute(select(api_keys).where(api_keys.c.key_id == key_id))).first()
        principal = None
        if row is not None and row.revoked_at is None and hmac.compare_digest(row.key_hash.encode(), digest.encode()):
            principal = Principal(
                row.key_id,
                row.name,
                frozenset(Scope(s) for s in row.scopes.split(",") if s),
                UUID(row.agent_id) if row.agent_id else None,
                row.rate_limit_per_minute,
            )
        self._cache[digest] = (now, principal)
        return principal

    def forget(self) -> None:
        """Drop cached lookups (after a key was issued or revoked on this replica)."""
        self._cache.clear()

    def meter(self, principal: Principal) -> Decision:
        """Count one request against the key's per-minute limit (across replicas); 429 when it is spent."""
        decision = self.limiter.admit(principal.key_id, principal.rate_limit_per_minute)
        if not decision.allowed:
            raise ProblemError(
                429,
                "rate-limited",
                "Too many requests",
                f"This key may make {principal.rate_limit_per_minute} requests per minute.",
                headers=decision.headers(),
            )
        return decision


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", "Authentication required", detail, headers={"WWW-Authenticate": "Bearer"})


_bearer = HTTPBearer(auto_error=False, description="An API key: `fck_...` (or the bootstrap admin key)")


def require(*scopes: Scope) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting keys with any of `scopes` (admin is admitted everywhere)."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        authenticator: Authenticator = request.app.state.runtime.authenticator
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            presented = credentials.credentials if credentials else request.headers.get("X-API-Key")
            principal = await authenticator.authenticate(presented)
            # A route may check scopes twice (its router's and its own): authenticate and meter once.
            # The headers go through the request state, not `response`: an endpoint that returns its own
            # Response (an idempotent replay) would drop them; the outer middleware adds them to any answer.
            stage_response_headers(request, authenticator.meter(principal).headers())
            request.state.principal = principal
        if not principal.allows(*scopes):
            raise ProblemError(
                403,
                "forbidden",
                "The API key lacks the scope for this operation",
                f"Needs one of: {', '.join(scope.value for scope in scopes)}.",
            )
        return principal

    return dependency


async def store_key(
    database_session: AsyncSession,
    *,
    key_id: str,
    key_hash: str,
    name: str,
    scopes: list[str],
    agent_id: UUID | None,
    rate_limit_per_minute: int,
    created_at: datetime,
) -> None:
    """Insert or replace a key row (issuing, and copying an ApiKeyIssued event)."""
    await database_session.execute(api_keys.delete().where(api_keys.c.key_id == key_id))
    await database_session.execute(
        api_keys.insert().values(
            key_id=key_id,
            key_hash=key_hash,
            name=name,
            scopes=",".join(scopes),
            agent_id=str(agent_id) if agent_id else None,
            rate_limit_per_minute=rate_limit_per_minute,
            created_at=created_at,
        )
    )


async def revoke_key(database_session: AsyncSession, *, key_id: str, revoked_at: datetime | None = None) -> bool:
    """Mark a key revoked; False if there is no such key."""
    result = await database_session.execute(
        api_keys.update()
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=revoked_at or datetime.now(UTC))
    )
    return bool(getattr(result, "rowcount", 0))


async def on_api_key_issued(event: ApiKeyIssued, session: AsyncSession) -> None:
    """Copy a key the router issued, so it works on this service too."""
    await store_key(
        session,
        key_id=event.key_id,
        key_hash=event.key_hash,
        name=event.label,
        scopes=event.scopes,
        agent_id=event.agent_id,
        rate_limit_per_minute=event.rate_limit_per_minute,
        created_at=event.issued_at,
    )


async def on_api_key_revoked(event: ApiKeyRevoked, session: AsyncSession) -> None:
    """Stop honouring a key the router revoked (cached lookups expire within CACHE_SECONDS)."""
    await revoke_key(session, key_id=event.key_id, revoked_at=event.revoked_at)


# What every service but the issuer adds to its consumer table.
ACCESS_HANDLERS: dict[type[Event], EventHandler] = {
    ApiKeyIssued: on_api_key_issued,
    ApiKeyRevoked: on_api_key_revoked,
}
