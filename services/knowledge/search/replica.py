"""This process's search state: the index, feedback memory and known-issue matcher, kept current.

Every replica of the knowledge service builds its own in-memory index from its own database at first
use (in a worker thread, batch by batch, then swapped in whole), and then follows the `search_changes`
log: before ranking, if its last look is older than the refresh interval (or a write on this replica
made it stale), it applies the rows past the last sequence it saw. So a write is searchable at once on
the replica that took it and within the refresh interval on every other; no broker, no shared cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.knowledge.known_issues.models import KnownIssue
from services.knowledge.search import changes, sources
from services.knowledge.search.index import SearchIndex
from services.knowledge.search.memory import TextMemory
from services.knowledge.search.ranking import Ranker
from services.knowledge.search.snippets import PassageCache
from shared.db import Database

log = logging.getLogger(__name__)
CHANGE_BATCH = 1000
PRUNE_EVERY = timedelta(hours=1)


@dataclass
class SearchState:
    """One consistent generation of what ranking reads; a rebuild makes a new one and swaps it in."""

    index: SearchIndex = field(default_factory=SearchIndex)
    feedback: TextMemory = field(default_factory=TextMemory)
    known_issues: TextMemory = field(default_factory=TextMemory)

    @property
    def ranker(self) -> Ranker:
        return Ranker(self.index, self.feedback)


class SearchReplica:
    def __init__(self, *, refresh_seconds: float = 0.2) -> None:
        self.refresh_seconds = refresh_seconds
        self.state = SearchState()
        self.position: int | None = None  # last change applied; None until the first build
        self._lock = asyncio.Lock()
        self._checked = -float("inf")
        self._caught_up_at: datetime | None = None
        self._pruned_at = datetime.min.replace(tzinfo=UTC)
        self._stale = True
        self.passages = PassageCache()  # of article versions, which never change: kept across rebuilds

    def invalidate(self) -> None:
        """A write on this replica committed: the next search catches up first (read your writes)."""
        self._stale = True

    def on_commit(self, session: Session) -> None:
        """Commit hook: only transactions that wrote the change log make the index stale."""
        if session.info.pop(changes.CHANGED, False):
            self.invalidate()

    async def catch_up(self, session: AsyncSession, *, force: bool = False) -> SearchState:
        """Apply what changed since the last look (or build everything the first time); returns the state."""
        if force or self._stale or time.monotonic() - self._checked >= self.refresh_seconds:
            async with self._lock:
                now = datetime.now(UTC)
                if self.position is None or self._caught_up_at is None or now - self._caught_up_at > changes.RETENTION:
                    await self._rebuild(session)
                else:
                    await self._apply_changes(session)
                self._checked, self._caught_up_at, self._stale = time.monotonic(), now, False
                if now - self._pruned_at > PRUNE_EVERY:
                    self._pruned_at = now
                    await changes.prune(session, now=now)
        return self.state

    async def _rebuild(self, session: AsyncSession) -> None:
        started = time.perf_counter()
        position = await changes.latest_sequence(session)  # first: anything later is applied next time
        state = SearchState()
        async for batch in sources.published_articles(session):
            documents = [document for _, document in batch if document is not None]
            await asyncio.to_thread(state.index.put, documents)
        await asyncio.to_thread(_remember_known_issues, state, await sources.known_issues(session))
        async for rows in sources.feedback(session):
            await asyncio.to_thread(state.feedback.remember, rows)
        await asyncio.to_thread(state.index.optimize)
        self.state, self.position = state, position
        log.info(
            "search index built: %d documents in %.1fs",
            len(state.index),
            time.perf_counter() - started,
            extra={"position": position},
        )

    async def _apply_changes(self, session: AsyncSession) -> None:
        assert self.position is not None
        while rows := await changes.changes_after(session, self.position, CHANGE_BATCH):
            touched: dict[str, list[uuid.UUID]] = {"article": [], "known_issue": [], "feedback": []}
            for row in rows:
                touched.setdefault(row.entity, []).append(row.entity_id)
            await self._apply(session, touched)
            self.position = rows[-1].seq

    async def _apply(self, session: AsyncSession, touched: dict[str, list[uuid.UUID]]) -> None:
        state = self.state
        if ids := sorted(set(touched["article"])):
            async for batch in sources.published_articles(session, ids):
                for article_id, document in batch:
                    if document is None:
                        state.index.remove(article_id)
                    else:
                        state.index.put([document])
        if ids := sorted(set(touched["known_issue"])):
            _remember_known_issues(state, await sources.known_issues(session, ids))
        if ids := sorted(set(touched["feedback"])):
            async for rows in sources.feedback(session, ids):
                state.feedback.remember(rows)


def _remember_known_issues(state: SearchState, issues: list[KnownIssue]) -> None:
    for issue in issues:
        state.index.put([sources.known_issue_document(issue)])
        state.known_issues.forget(issue.id)
        state.known_issues.remember([((issue.id, issue.revision), issue.id, 1.0, f"{issue.title}\n{issue.symptoms}")])


_REPLICAS: weakref.WeakKeyDictionary[Database, SearchReplica] = weakref.WeakKeyDictionary()


def attach(database: Database, replica: SearchReplica) -> SearchReplica:
    """Make `replica` the search state of the service that owns `database` (set once, in bootstrap)."""
    _REPLICAS[database] = replica
    database.on_commit(replica.on_commit)
    return replica


def replica_of(database: Database) -> SearchReplica:
    """The search state of the service that owns `database`."""
    replica = _REPLICAS.get(database)
    if replica is None:
        replica = attach(database, SearchReplica())
    return replica
