"""Idempotent writes: a retried request with the same Idempotency-Key gets the first answer, nothing new.

The key is stored with the response in the same transaction as the write itself, so either both exist or
neither does. Two concurrent requests with one key race on the primary key: the loser rolls back its
whole transaction (its events included) and answers with the winner's response.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.errors import FieldError, ProblemError
from shared.inserts import stage_rows
from shared.messaging.tables import idempotency_keys

CONFLICT_ATTEMPTS = 3
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID is ideal); a retry with the same key and body is answered "
        "with the first response and changes nothing. Keys are kept for 24 hours.",
    ),
]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    replayed: bool
    encoded: bytes  # the body as JSON, as stored for replays and as sent


class EncodedJSONResponse(JSONResponse):
    """A JSON response from bytes already encoded: the body stored for replays is the body sent."""

    def render(self, content: Any) -> bytes:
        encoded: bytes = content
        return encoded


def fingerprint(method: str, route: str, payload: Any) -> str:
    """A digest of what the request asks for, independent of JSON whitespace and key order."""
    canonical = orjson.dumps([method, route, payload], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


async def run_once(
    database: Database,
    *,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    write: Callable[[AsyncSession], Awaitable[tuple[int, Any]]],
    look_up_first: bool = True,
    begin_on_write: bool = False,
) -> StoredResponse:
    """Run `write` (which must not commit) once per key; returns its status and JSON-able body.

    `write` may run again after a unique-constraint conflict, so it must only touch the session.
    With `look_up_first=False` the key is not looked up before the write: a retry then does the work again
    and loses at commit, where its key conflicts with the stored one, and is answered from it after the
    rollback. First attempts, nearly all requests on a hot path, save a round trip; retries cost a write
    that is rolled back. `begin_on_write`: see `Database.session`.
    """
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            async with database.session(begin_on_write=begin_on_write) as session:
                # Looked up in the write's own session: one connection per request, not two.
                if (
                    look_up_first
                    and key is not None
                    and (stored := await _find(session, scope, key, request_fingerprint))
                ):
                    return stored
                status_code, body = await write(session)
                encoded = orjson.dumps(body)
                if key is not None:
                    _remember(
                        session,
                        scope=scope,
                        key=key,
                        digest=request_fingerprint,
                        response=(status_code, encoded),
                    )
                await session.commit()
        except IntegrityError:
            # Either a concurrent request with the same key won (answer as it did), or a concurrent
            # find-or-create inserted the same natural key first (run again: it is found this time).
            if key is not None and (stored := await _lookup(database, scope, key, request_fingerprint)):
                return stored
            if attempt == CONFLICT_ATTEMPTS:
                raise
        except ProblemError:
            # A concurrent twin with the same key may have committed first and changed the state this
            # request was checked against (the ticket is now resolved): the client gets the twin's answer.
            if key is not None and (stored := await _lookup(database, scope, key, request_fingerprint)):
                return stored
            raise
        else:
            return StoredResponse(status_code, body, replayed=False, encoded=encoded)
    raise AssertionError("unreachable: the loop returns or raises")


def _remember(session: AsyncSession, *, scope: str, key: str, digest: str, response: tuple[int, bytes]) -> None:
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": digest,
        "status_code": response[0],
        "response": response[1],
        "created_at": datetime.now(UTC),
    }
    # Written at commit with the write's staged rows and events; a twin's key conflicts there all the same.
    stage_rows(session, [(idempotency_keys, values)])


async def _lookup(database: Database, scope: str, key: str, request_fingerprint: str) -> StoredResponse | None:
    async with database.session() as session:
        return await _find(session, scope, key, request_fingerprint)


_FIND = select(idempotency_keys).where(
    idempotency_keys.c.scope == bindparam("scope"), idempotency_keys.c.key == bindparam("key")
)


async def _find(session: AsyncSession, scope: str, key: str, request_fingerprint: str) -> StoredResponse | None:
    row = (await session.execute(_FIND, {"scope": scope, "key": key})).first()
    if row is None:
        return None
    if row.fingerprint != request_fingerprint:
        raise ProblemError(
            422,
            "idempotency-key-reused",
            "Idempotency-Key already used for a different request",
            "This key was first used with another body; use a new key for a new request.",
            errors=[FieldError(field="header.Idempotency-Key", message="reused with a different body", type="reused")],
        )
    return StoredResponse(row.status_code, orjson.loads(row.response), replayed=True, encoded=bytes(row.response))


async def respond_once(
    database: Database,
    *,
    scope: str,
    key: str | None,
    payload: Any,
    write: Callable[[AsyncSession], Awaitable[tuple[int, Any]]],
    location: Callable[[Any], str | None] | None = None,
    look_up_first: bool = True,
    begin_on_write: bool = False,
) -> JSONResponse:
    """`run_once` as an HTTP response: replays say so in a header; creations say where they live."""
    result = await run_once(
        database,
        scope=scope,
        key=key,
        request_fingerprint=fingerprint("", scope, payload),
        write=write,
        look_up_first=look_up_first,
        begin_on_write=begin_on_write,
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    if location is not None and result.status_code in (200, 201, 202) and (where := location(result.body)):
        headers["Location"] = where
    return EncodedJSONResponse(result.encoded, status_code=result.status_code, headers=headers)
