"""One page's stream: the board's picture (or the changes it missed), then each change, and heartbeats.

Messages (server-sent events, each `data` one JSON object):
- `board`: the whole picture, `{"problems": [card...], "read_at", "poll_seconds"}`, first on a new stream and
  on a stream that cannot resume (its `Last-Event-ID` is another replica's, older than what is kept here, or
  from before a restart); the page replaces what it shows.
- `problem`: `{"change": "detected|updated|escalated|resolved|forming", "problem": card}`, a card new or changed.
- `removed`: `{"problem_id"}`, a card taken off (merged into another, out of the board's limits, a day resolved).
- `: keep-alive` comments after `heartbeat_seconds` without a message.
Every message but the heartbeat has an `id`; a browser's EventSource sends the last one back when it
reconnects, and the stream goes on after it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson

from services.notifier.board.hub import BoardHub
from shared.errors import ProblemError

RETRY_MS = 3000
HEARTBEAT_SECONDS = 15.0
LIFETIME_SECONDS = 30 * 60  # then the page reconnects, to whichever replica the balancer picks
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Frame:
    event: str | None = None
    id: str | None = None
    data: bytes | None = None
    comment: str | None = None
    retry: int | None = None


class StreamLimits:
    """At most `per_key` board streams for one API key and `per_process` in all, in this process."""

    def __init__(self, *, per_key: int = 8, per_process: int = 200) -> None:
        self.per_key, self.per_process = per_key, per_process
        self.open: Counter[str] = Counter()

    @contextmanager
    def lease(self, key_id: str) -> Iterator[None]:
        if self.open.total() >= self.per_process:
            raise ProblemError(
                503,
                "streams-at-capacity",
                "This process serves as many board streams as it may",
                f"{self.per_process} board streams are open here; retry (another replica may take it).",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        if self.open[key_id] >= self.per_key:
            raise ProblemError(
                429,
                "too-many-streams",
                "This key has as many board streams open as it may",
                f"A key may hold {self.per_key} board streams at once on each replica; close a tab first.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.open[key_id] += 1
        try:
            yield
        finally:
            self.open[key_id] -= 1
            if self.open[key_id] <= 0:
                del self.open[key_id]


class BoardStream:
    """The frames of one page's stream, until the page leaves, the key is revoked, or its time is up."""

    def __init__(
        self,
        *,
        hub: BoardHub,
        last_event_id: str | None,
        still_allowed: Callable[[], Awaitable[bool]],
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        lifetime_seconds: float = LIFETIME_SECONDS,
    ) -> None:
        self.hub, self.last_event_id, self.still_allowed = hub, last_event_id, still_allowed
        self.heartbeat_seconds, self.lifetime_seconds = heartbeat_seconds, lifetime_seconds

    async def frames(self) -> AsyncIterator[Frame]:
        with self.hub.watched():
            async for frame in self._frames():
                yield frame

    async def _frames(self) -> AsyncIterator[Frame]:
        ends_at = time.monotonic() + self.lifetime_seconds
        missed = self.hub.changes_after(self.last_event_id)
        if missed is None:
            await self.hub.ensure_read()
            cursor = self.hub.seq
            yield self._picture(cursor)
        else:
            cursor = missed[-1].seq if missed else self.hub.seq
            for change in missed:
                yield Frame(event=change.event, id=self.hub.event_id(change.seq), data=change.data, retry=RETRY_MS)
        while not self.hub.closed:
            left = ends_at - time.monotonic()
            if left <= 0:
                return
            if await self.hub.news_after(cursor, min(self.heartbeat_seconds, left)):
                changes = self.hub.changes_after(self.hub.event_id(cursor))
                if changes is None:  # a page too slow to read what the hub keeps: the picture again
                    cursor = self.hub.seq
                    yield self._picture(cursor)
                    continue
                for change in changes:
                    yield Frame(event=change.event, id=self.hub.event_id(change.seq), data=change.data)
                    cursor = change.seq
            elif not self.hub.closed and time.monotonic() < ends_at:
                if not await self.still_allowed():
                    return
                yield Frame(comment="keep-alive")

    def _picture(self, cursor: int) -> Frame:
        data = orjson.dumps(self.hub.picture())
        return Frame(event="board", id=self.hub.event_id(cursor), data=data, retry=RETRY_MS)
