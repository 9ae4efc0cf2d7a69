"""Recording writes to the helpdesk where they are decided, and handing them out in order per ticket.

An effect is recorded in the same transaction as what decided it (the inbox claim of an event, or the
read-back of an RT change), so Kafka's redeliveries and the bridge's restarts never decide it twice. It is
carried out later by the worker, the first pending effect of each ticket before the next: while RT is
down they wait, and they are applied in order when it is back.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.helpdesk.effects.models import DONE, FAILED, PENDING, Effect
from shared.errors import Conflict, NotFound

STAGED_EFFECTS = "helpdesk.staged_effects"  # session.info flag: wake the worker after this commit


def record(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    cause: str,
    decided_at: datetime,
    now: datetime,
) -> Effect:
    """Stage a write to the helpdesk; it happens after this transaction commits, once."""
    effect = Effect(
        id=uuid.uuid4(),
        ticket_id=ticket_id,
        kind=kind,
        payload=payload,
        cause=cause[:120],
        decided_at=decided_at,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(effect)
    session.info[STAGED_EFFECTS] = True
    return effect


async def due(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[Effect]:
    """The first pending effect of each ticket, when its time has come, oldest decision first."""
    earlier = aliased(Effect)
    blocked = exists().where(
        and_(earlier.ticket_id == Effect.ticket_id, earlier.status == PENDING, earlier.seq < Effect.seq)
    )
    statement = (
        select(Effect)
        .where(Effect.status == PENDING, Effect.next_attempt_at <= now, ~blocked)
        .order_by(Effect.seq)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def pending_count(*, session: AsyncSession) -> tuple[int, datetime | None]:
    """How many effects wait, and since when the oldest does (for /v1/sync and the metrics)."""
    row = (
        await session.execute(select(func.count(), func.min(Effect.created_at)).where(Effect.status == PENDING))
    ).one()
    return int(row[0]), row[1]


async def failed_count(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(Effect.status == FAILED)) or 0)


async def listing(*, session: AsyncSession, status: str | None, after: int | None, limit: int) -> Sequence[Effect]:
    """Effects newest first, optionally of one status (keyset on the sequence)."""
    statement = select(Effect).order_by(Effect.seq.desc()).limit(limit)
    if status is not None:
        statement = statement.where(Effect.status == status)
    if after is not None:
        statement = statement.where(Effect.seq < after)
    return (await session.scalars(statement)).all()


async def retry(*, session: AsyncSession, effect_id: uuid.UUID, now: datetime) -> Effect:
    """A failed effect goes back into the queue (after its cause was fixed in RT)."""
    effect = (await session.scalars(select(Effect).where(Effect.id == effect_id))).first()
    if effect is None:
        raise NotFound("Effect", effect_id)
    if effect.status != FAILED:
        raise Conflict("effect-not-failed", f"the effect is {effect.status}; only a failed one is retried")
    effect.status, effect.next_attempt_at, effect.done_at = PENDING, now, None
    session.info[STAGED_EFFECTS] = True
    return effect


async def wake(*, session: AsyncSession, ticket_id: uuid.UUID, now: datetime) -> None:
    """A ticket's waiting effects are due now (the agents' changes they waited for are read back)."""
    await session.execute(
        update(Effect)
        .where(Effect.ticket_id == ticket_id, Effect.status == PENDING, Effect.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    session.info[STAGED_EFFECTS] = True


def finish(effect: Effect, *, status: str = DONE, now: datetime, note: str | None = None) -> None:
    """The effect is carried out (or superseded, dropped, failed: `note` says why)."""
    effect.status, effect.done_at = status, now
    effect.last_error = note[:2000] if note else effect.last_error


def postpone(effect: Effect, *, now: datetime, error: str, initial: float, maximum: float) -> None:
    """Try again later, backing off exponentially with jitter (the ticket's later effects wait behind it)."""
    effect.attempts += 1
    cap = min(maximum, initial * 2 ** min(effect.attempts - 1, 30))
    effect.next_attempt_at = now + timedelta(seconds=random.uniform(cap / 2, cap))
    effect.last_error = error[:2000]


def wait(effect: Effect, *, now: datetime, seconds: float, reason: str) -> None:
    """Try again after `seconds` without counting an attempt (waiting on the other side, not failing)."""
    effect.next_attempt_at = now + timedelta(seconds=seconds)
    effect.last_error = reason[:2000]
