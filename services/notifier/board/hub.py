"""The board's picture of the problems in this process, and the changes to it as numbered events.

One hub per replica reads the problems for every page watching it (not one reader per page), and only while
someone watches. Each read compares what the board shows with the database (a cheap fingerprint per
problem), reads the cards of the problems that changed, and numbers each change. Streams send the picture
once, then the changes after it; a stream that reconnects with the number of the last change it got is
sent the changes it missed, or the whole picture again when they are no longer kept here (another replica,
a restart, too long away). Reading the database rather than the bus makes every replica see every change,
whichever replica made it; a commit on this replica wakes the reader at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from services.notifier.board import cards as board_cards
from shared.db import Database

log = logging.getLogger(__name__)
HISTORY = 2000  # changes kept for streams that reconnect
MIN_GAP_SECONDS = 0.25  # a busy replica's commits wake the reader at most this often


@dataclass(frozen=True)
class Change:
    """One numbered change to the board: a card shown or changed (`problem`), or taken off (`removed`)."""

    seq: int
    event: str
    data: bytes


def change_kind(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """What happened to a problem, in the words ops use."""
    if after["status"] == "resolved":
        return "resolved"
    if after["status"] == "forming":
        return "forming"
    if before is None or before["status"] == "forming":
        return "detected"
    if after["severity"] == "major" and before["severity"] != "major":
        return "escalated"
    return "updated"


class BoardHub:
    """The cards of the problems on the board, refreshed while at least one stream watches."""

    def __init__(
        self,
        *,
        database: Database,
        poll_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database, self.poll_seconds, self.clock = database, poll_seconds, clock
        # Ids are "<epoch>.<seq>": an id from another replica or an earlier process is recognised as foreign.
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self.cards: dict[str, dict[str, Any]] = {}
        self.read_at: datetime | None = None
        self.watchers = 0
        self.closed = False
        self._fingerprints: dict[uuid.UUID, tuple[Any, ...]] = {}
        self._buckets_from: datetime | None = None
        self._history: deque[Change] = deque(maxlen=HISTORY)
        self._news = asyncio.Event()
        self._wake = asyncio.Event()
        self._reading = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        database.on_commit(self._on_commit)

    def _on_commit(self, _: Session) -> None:
        if self.watchers:
            self._wake.set()

    async def start(self) -> None:
        self.closed = False
        self._task = asyncio.create_task(self._run(), name="notifier-problem-board")

    async def stop(self) -> None:
        self.closed = True
        self._wake.set()
        self._announce()  # streams waiting for news end now
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            if self.closed:
                return
            if self.watchers:
                try:
                    await self.refresh()
                except Exception:
                    log.exception("reading the problem board failed; trying again")
                await asyncio.sleep(min(MIN_GAP_SECONDS, self.poll_seconds))

    async def refresh(self) -> None:
        """Read what changed since the last read, and number each change."""
        async with self._reading:
            now = self.clock()
            buckets_from = board_cards.buckets_ending(now)[0]
            async with self.database.session() as session:
                listed = await board_cards.listed(session=session, now=now)
                fingerprints = {item.id: item.fingerprint for item in listed}
                # When the hour's buckets move on, every card's chart does too.
                stale = [
                    problem_id
                    for problem_id, fingerprint in fingerprints.items()
                    if buckets_from != self._buckets_from or self._fingerprints.get(problem_id) != fingerprint
                ]
                fresh = await board_cards.cards(session=session, problem_ids=stale, now=now)
            for problem_id in stale:
                card = fresh.get(problem_id)
                if card is not None and card != self.cards.get(str(problem_id)):
                    self._show(card)
            for problem_id in set(self._fingerprints) - set(fingerprints):
                self._remove(str(problem_id))
            self._fingerprints = {problem_id: fingerprints[problem_id] for problem_id in fingerprints}
            self._buckets_from, self.read_at = buckets_from, now

    async def ensure_read(self) -> None:
        """Read now unless a read is recent (a stream opening must not show a picture from hours ago)."""
        now = self.clock()
        if self.read_at is None or (now - self.read_at).total_seconds() >= self.poll_seconds:
            await self.refresh()

    def _show(self, card: dict[str, Any]) -> None:
        before = self.cards.get(card["id"])
        self.cards[card["id"]] = card
        kind = change_kind(before, card)
        self._record("problem", {"change": kind, "problem": card})

    def _remove(self, problem_id: str) -> None:
        if self.cards.pop(problem_id, None) is not None:
            self._record("removed", {"problem_id": problem_id})

    def _record(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        self._history.append(Change(self.seq, event, orjson.dumps(data)))
        self._announce()

    def _announce(self) -> None:
        news, self._news = self._news, asyncio.Event()
        news.set()

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}.{seq}"

    def changes_after(self, event_id: str | None) -> list[Change] | None:
        """The changes after a stream's last id; None when they cannot be told (send the picture instead)."""
        if event_id is None:
            return None
        epoch, _, number = event_id.partition(".")
        if epoch != self.epoch or not number.isdigit() or int(number) > self.seq:
            return None
        after = int(number)
        if after < self.seq and (not self._history or self._history[0].seq > after + 1):
            return None
        return [change for change in self._history if change.seq > after]

    def picture(self) -> dict[str, Any]:
        """Everything the board shows now, as one message."""
        return {
            "problems": list(self.cards.values()),
            "read_at": board_cards.iso(self.read_at),
            "poll_seconds": self.poll_seconds,
        }

    async def news_after(self, seq: int, timeout: float) -> bool:
        """Wait up to `timeout` for a change numbered after `seq`; whether one came."""
        news = self._news
        if self.seq > seq or self.closed:
            return self.seq > seq
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(news.wait(), timeout)
        return self.seq > seq

    @contextlib.contextmanager
    def watched(self) -> Iterator[None]:
        """Count a stream as watching while the block runs (the hub reads only while someone watches)."""
        self.watchers += 1
        self._wake.set()
        try:
            yield
        finally:
            self.watchers -= 1
