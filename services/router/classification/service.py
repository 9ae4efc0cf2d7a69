"""Learning intents from examples and classifying tickets with the newest trained model.

Training runs in a separate process (it is CPU-bound for seconds) and stores the model in the database;
every router replica picks up the newest ready model within `REFRESH_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.pool import Pool

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.classification import engine
from services.router.classification.models import IntentExample, IntentModel, IntentProfile
from shared import children, heap
from shared.db import Database
from shared.errors import Conflict, NotFound
from shared.web.pagination import Keyset, fetch_page

log = logging.getLogger(__name__)
REFRESH_SECONDS = 30.0


class IntentClassifier:
    """This process's view of the newest ready model."""

    def __init__(self, database: Database, threshold: float, encoder: str = "wordllama") -> None:
        self.database, self.threshold, self.encoder = database, threshold, encoder
        self.model_id: uuid.UUID | None = None
        self._runtime: engine.IntentModel | None = None
        self._checked = 0.0
        self._training: set[asyncio.Task[None]] = set()
        self._pool: Pool | None = None

    async def refresh(self, *, force: bool = False) -> None:
        """Load a newer ready model if there is one (checked at most every REFRESH_SECONDS)."""
        if not force and time.monotonic() - self._checked < REFRESH_SECONDS:
            return
        self._checked = time.monotonic()
        async with self.database.session() as session:
            latest = await session.scalar(
                select(IntentModel.id)
                .where(IntentModel.status == "ready")
                .order_by(IntentModel.trained_at.desc())
                .limit(1)
            )
            if latest is None or latest == self.model_id:
                return
            blob = await session.scalar(select(IntentModel.blob).where(IntentModel.id == latest))
        if blob is not None:
            try:
                loaded = await asyncio.to_thread(engine.load, blob, self.encoder)
            except ValueError as exc:
                # A model trained with another encoder (the setting changed): keep the current one, say so.
                log.error("intent model %s cannot be used: %s; train again", latest, exc)
                return
            self._use(latest, loaded)

    def _use(self, model_id: uuid.UUID, model: engine.IntentModel) -> None:
        self._runtime, self.model_id = model, model_id
        log.info("intent model %s loaded (%d intents)", model_id, len(model.intents))
        heap.settle_again()  # the model lives until the next one: keep it out of full collections

    def classify(self, text: str) -> engine.Classification:
        """The intent of a text; `unknown` (None) when no model is trained yet or confidence is low."""
        if self._runtime is None:
            return engine.Classification(None, 0.0, [])
        return self._runtime.classify(text, threshold=self.threshold)

    async def train(self, *, model_id: uuid.UUID, examples: list[tuple[str, str]]) -> None:
        """Train in a worker process and store the outcome on the model row."""
        started = time.perf_counter()
        try:
            if self._pool is None:
                self._pool = children.worker_pool()  # its worker dies with this process, even on SIGKILL
            blob = await children.run_in_pool(self._pool, engine.train, examples, self.encoder)
            loaded = await asyncio.to_thread(engine.load, blob, self.encoder)
        except Exception as exc:
            log.exception("intent training %s failed", model_id)
            await self._finish(model_id, status="failed", error=str(exc)[:2000])
            return
        metrics: dict[str, float | str] = {
            "train_seconds": round(time.perf_counter() - started, 2),
            "size_bytes": len(blob),
            "encoder": self.encoder,
        }
        # In use here before the model reads "ready", so whoever sees that status is answered with it (a
        # refresh after the commit raced a classification that found no model yet). Other replicas take it
        # up within REFRESH_SECONDS.
        self._use(model_id, loaded)
        await self._finish(model_id, status="ready", blob=blob, metrics=metrics)

    def start_training(self, *, model_id: uuid.UUID, examples: list[tuple[str, str]]) -> None:
        task = asyncio.create_task(self.train(model_id=model_id, examples=examples), name=f"train-{model_id}")
        self._training.add(task)
        task.add_done_callback(self._training.discard)

    async def _finish(
        self,
        model_id: uuid.UUID,
        *,
        status: str,
        blob: bytes | None = None,
        error: str | None = None,
        metrics: dict[str, float | str] | None = None,
    ) -> None:
        async with self.database.session() as session:
            model = await session.get(IntentModel, model_id)
            if model is not None:
                model.status, model.blob, model.error = status, blob, error
                model.metrics = metrics or {}
                model.trained_at = datetime.now(UTC)
                await session.commit()

    async def stop(self) -> None:
        for task in list(self._training):
            task.cancel()
        if self._pool is not None:
            # A training in progress is abandoned (the model row stays "training"; train again): a stop
            # must not wait minutes for it, nor leave the worker running after this process.
            pool, self._pool = self._pool, None
            pool.terminate()
            await asyncio.to_thread(pool.join)

    async def start(self) -> None:
        await self.refresh(force=True)


async def add_examples(
    *, session: AsyncSession, examples: Sequence[tuple[str, str]], source: str, now: datetime
) -> int:
    """Store labelled texts to learn from (caller commits)."""
    session.add_all(IntentExample(text=text, intent=intent, source=source, created_at=now) for text, intent in examples)
    return len(examples)


async def learn_from_ticket(
    *, session: AsyncSession, ticket_id: uuid.UUID, text: str, intent: str, source: str, now: datetime
) -> None:
    """A resolved (or re-labelled) ticket becomes an example; one example per ticket, the latest label wins."""
    existing = await session.scalar(select(IntentExample).where(IntentExample.ticket_id == ticket_id))
    if existing is None:
        session.add(IntentExample(text=text, intent=intent, source=source, ticket_id=ticket_id, created_at=now))
    else:
        existing.intent, existing.source = intent, source


async def request_training(*, session: AsyncSession, now: datetime) -> tuple[IntentModel, list[tuple[str, str]]]:
    """A new model row in `training` state and the examples to train it on (caller commits, then trains)."""
    if await session.scalar(select(func.count()).select_from(IntentModel).where(IntentModel.status == "training")):
        raise Conflict("training-in-progress", "a model is being trained; wait for it before starting another")
    rows = (await session.execute(select(IntentExample.text, IntentExample.intent))).all()
    examples = [(row.text, row.intent) for row in rows]
    intents = {intent for _, intent in examples}
    if len(intents) < engine.MIN_INTENTS:
        raise Conflict("not-enough-examples", f"examples of at least {engine.MIN_INTENTS} intents are needed")
    model = IntentModel(
        id=uuid.uuid4(), status="training", example_count=len(examples), intent_count=len(intents), requested_at=now
    )
    session.add(model)
    return model, examples


async def get_model(*, session: AsyncSession, model_id: uuid.UUID) -> IntentModel:
    model = await session.get(IntentModel, model_id)
    if model is None:
        raise NotFound("Intent model", model_id)
    return model


async def profile_of(*, session: AsyncSession, intent: str | None) -> IntentProfile | None:
    """What one intent needs (None for unknown intents): a primary-key read, cheap on the hot path."""
    return None if intent is None else await session.get(IntentProfile, intent)


@dataclass(frozen=True)
class ProfileView:
    """What opening a ticket reads of an intent's profile, detached from any session."""

    required_skills: dict[str, int]
    likely_resolution: str | None
    priority: str | None


# Columns, not IntentProfile objects: the session of the request that reloads must not come to hold them.
_PROFILE_COLUMNS = tuple(
    IntentProfile.__table__.c[name] for name in ("intent", "required_skills", "likely_resolution", "priority")
)


class IntentProfiles:
    """Every intent's profile in memory, read again at most every `refresh_seconds` (one small query).

    Opening a ticket needs its intent's profile; reading it from the database was a round trip per ticket
    for data that changes a few times a day. A change made through this process is seen at once (`forget`),
    one made through another replica within `refresh_seconds`.
    """

    def __init__(self, refresh_seconds: float) -> None:
        self.refresh_seconds = refresh_seconds
        self._profiles: dict[str, ProfileView] = {}
        self._loaded_at = -math.inf
        self._lock = asyncio.Lock()

    async def get(self, session: AsyncSession, intent: str | None) -> ProfileView | None:
        """The intent's profile (None for none); a reload reads in the caller's session, which already holds
        a connection: taking a second one per request could exhaust the pool."""
        if intent is None:
            return None
        if time.monotonic() - self._loaded_at >= self.refresh_seconds:
            async with self._lock:  # one reload for a crowd of requests, not one each
                if time.monotonic() - self._loaded_at >= self.refresh_seconds:
                    await self._load(session)
        return self._profiles.get(intent)

    def forget(self) -> None:
        """Read the profiles again before the next ticket (this process just changed one)."""
        self._loaded_at = -math.inf

    async def _load(self, session: AsyncSession) -> None:
        started = time.monotonic()
        with session.no_autoflush:
            rows = (await session.execute(select(*_PROFILE_COLUMNS))).all()
        self._profiles = {
            row.intent: ProfileView(dict(row.required_skills), row.likely_resolution, row.priority) for row in rows
        }
        self._loaded_at = started


async def profiles(*, session: AsyncSession, intents: Sequence[str] | None = None) -> dict[str, IntentProfile]:
    """What each intent needs (of `intents`, or all), by intent."""
    query = select(IntentProfile)
    if intents is not None:
        query = query.where(IntentProfile.intent.in_(intents))
    return {p.intent: p for p in (await session.scalars(query)).all()}


async def intent_page(*, session: AsyncSession, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
    """A page of the intents known from examples or profiles, by name, and the cursor of the next."""
    names = select(IntentExample.intent).union(select(IntentProfile.intent)).subquery()
    order = Keyset("intents", ((names.c.intent, False),))
    rows, next_cursor = await fetch_page(
        session, select(names.c.intent), order, limit=limit, cursor=cursor, scalars=False
    )
    return [row.intent for row in rows], next_cursor


async def set_profile(
    *,
    session: AsyncSession,
    intent: str,
    required_skills: dict[str, int],
    likely_resolution: str | None,
    priority: str | None,
    now: datetime,
) -> IntentProfile:
    """Say which skills an intent routes on and which resolution it usually ends in."""
    profile = await session.get(IntentProfile, intent)
    if profile is None:
        profile = IntentProfile(intent=intent)
        session.add(profile)
    profile.required_skills, profile.likely_resolution = required_skills, likely_resolution
    profile.priority, profile.updated_at = priority, now
    return profile


async def example_counts(*, session: AsyncSession, intents: Sequence[str] | None = None) -> dict[str, int]:
    query = select(IntentExample.intent, func.count()).group_by(IntentExample.intent)
    if intents is not None:
        query = query.where(IntentExample.intent.in_(intents))
    return {intent: int(count) for intent, count in await session.execute(query)}
