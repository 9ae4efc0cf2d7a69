"""The effect worker: carries out what the journal says is due, the first pending effect of each ticket.

Runs on the replica holding the bridge's lease, woken by commits that staged effects and by a poll. An
effect that meets an unavailable side (RT or the router) is postponed with backoff and the ticket's later
effects wait behind it; one the helpdesk refuses is recorded as failed (GET /v1/effects shows it).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import HelpdeskRejected, HelpdeskUnavailable
from services.helpdesk.effects import service as effects
from services.helpdesk.effects.models import FAILED, PENDING, Effect
from services.helpdesk.firstcall.client import RouterRefused, RouterUnavailable
from services.helpdesk.metrics import HelpdeskMetrics
from services.helpdesk.outbound.applying import carry_out
from services.helpdesk.outbound.sides import Sides
from shared.db import Database

log = logging.getLogger(__name__)


class EffectWorker:
    def __init__(self, *, database: Database, sides: Sides, metrics: HelpdeskMetrics) -> None:
        self.database, self.sides, self.metrics = database, sides, metrics

    async def run_once(self) -> int:
        """Carry out the due effects; how many were taken on."""
        settings = self.sides.settings
        async with self.database.session() as session:
            due = [
                effect.seq
                for effect in await effects.due(session=session, now=_now(), limit=settings.effect_batch_size)
            ]
        for seq in due:
            await self._see_through(seq)
        async with self.database.session() as session:
            pending, _ = await effects.pending_count(session=session)
        self.metrics.effects_pending.set(pending)
        return len(due)

    async def _see_through(self, seq: int) -> None:
        async with self.database.session() as session:
            effect = await session.get(Effect, seq)
            if effect is None or effect.status != PENDING:
                return
            kind, now = effect.kind, _now()
            failure = await self._attempt(session, effect, now)
            if failure is not None:
                await session.rollback()
                effect = await session.get(Effect, seq)  # as committed: a mark of an attempt stays
                assert effect is not None
                self._record_failure(effect, failure, now)
            self.metrics.effects.labels(kind, _outcome(effect)).inc()
            await session.commit()

    async def _attempt(self, session: AsyncSession, effect: Effect, now: datetime) -> Exception | None:
        try:
            await carry_out(session=session, effect=effect, sides=self.sides, now=now)
        except Exception as exc:  # every failure is recorded on the effect, none may stop the worker
            return exc
        self.metrics.reachable.labels("rt").set(1)
        return None

    def _record_failure(self, effect: Effect, exc: Exception, now: datetime) -> None:
        settings = self.sides.settings
        if isinstance(exc, HelpdeskRejected | RouterRefused):
            effects.finish(effect, status=FAILED, now=now, note=str(exc))
            log.error("effect %s (%s) refused: %s", effect.id, effect.kind, exc)
            return
        if isinstance(exc, HelpdeskUnavailable | RouterUnavailable):
            self.metrics.reachable.labels("rt" if isinstance(exc, HelpdeskUnavailable) else "router").set(0)
            log.warning("effect %s (%s) postponed: %s", effect.id, effect.kind, exc)
        else:
            log.error("effect %s (%s) failed unexpectedly", effect.id, effect.kind, exc_info=exc)
        effects.postpone(
            effect,
            now=now,
            error=str(exc) or type(exc).__name__,
            initial=settings.effect_backoff_initial_seconds,
            maximum=settings.effect_backoff_max_seconds,
        )


def _outcome(effect: Effect) -> str:
    if effect.status != PENDING:
        return effect.status
    return "postponed" if effect.attempts else "waiting"


def _now() -> datetime:
    return datetime.now(UTC)
