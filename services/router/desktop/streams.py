"""One agent's stream: where it starts (fresh, resumed, or reset), its notices in order, its heartbeats.

A stream's cursor is an outbox position. Each notice is sent with its position as the SSE `id`, so a
client that reconnects with `Last-Event-ID` gets exactly the notices after the last one it received.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson

from services.router.desktop.config import DesktopPushConfig
from services.router.desktop.notices import kept_range
from services.router.desktop.tail import OutboxTail
from shared.errors import ProblemError

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Frame:
    """One SSE message: an event with its id and data, or a comment."""

    event: str | None = None
    id: str | None = None
    data: bytes | None = None
    comment: str | None = None
    retry: int | None = None


class StreamLimits:
    """At most `per_key` streams for one API key and `per_process` in all, in this process."""

    def __init__(self, *, per_key: int, per_process: int) -> None:
        self.per_key, self.per_process = per_key, per_process
        self.open: Counter[str] = Counter()

    @contextmanager
    def lease(self, key_id: str) -> Iterator[None]:
        """Hold one stream for the key while the block runs; refused with a problem when full."""
        if self.open.total() >= self.per_process:
            raise ProblemError(
                503,
                "streams-at-capacity",
                "This process serves as many streams as it may",
                f"{self.per_process} streams are open here; retry (another replica may take it).",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        if self.open[key_id] >= self.per_key:
            raise ProblemError(
                429,
                "too-many-streams",
                "This key has as many streams open as it may",
                f"A key may hold {self.per_key} streams at once on each replica; close one first.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.open[key_id] += 1
        try:
            yield
        finally:
            self.open[key_id] -= 1
            if self.open[key_id] <= 0:
                del self.open[key_id]


class AgentStream:
    """The frames of one agent's stream, from its cursor on, until the client leaves or its time is up."""

    def __init__(
        self,
        *,
        tail: OutboxTail,
        config: DesktopPushConfig,
        agent_id: str,
        after: int | None,
        still_allowed: Callable[[], Awaitable[bool]],
        on_sent: Callable[[str], None] = lambda event: None,
    ) -> None:
        self.tail, self.config, self.agent_id, self.after = tail, config, agent_id, after
        self.still_allowed, self.on_sent = still_allowed, on_sent

    async def frames(self) -> AsyncIterator[Frame]:
        self.tail.streams += 1
        try:
            async for frame in self._frames():
                yield frame
        finally:
            self.tail.streams -= 1

    async def _frames(self) -> AsyncIterator[Frame]:
        ends_at = time.monotonic() + self.config.stream_lifetime_seconds
        epoch = self.tail.epoch
        cursor, opening = await self._opening()
        yield opening
        while not self.tail.closed:
            if self.tail.epoch != epoch:
                epoch, cursor = self.tail.epoch, self.tail.position
                yield self._reset(cursor, "the outbox numbering restarted")
            notices, reached = await self.tail.notices_for(self.agent_id, cursor)
            for notice in notices:
                yield Frame(event=notice.event, id=str(notice.seq), data=notice.data(self.agent_id))
                self.on_sent(notice.event)
            cursor = max(cursor, reached)
            if cursor < self.tail.position:
                continue  # a page of a long catch-up: the next one at once
            left = ends_at - time.monotonic()
            if left <= 0:
                return
            if not await self.tail.wait(self.agent_id, cursor, min(self.config.heartbeat_seconds, left)):
                if not await self.still_allowed():
                    return
                yield Frame(comment="keep-alive")

    async def _opening(self) -> tuple[int, Frame]:
        """Where the stream starts: now (no cursor), after the client's cursor, or now after a `reset`."""
        if self.after is None:
            position = await self.tail.catch_up()  # "from now": what committed before the client came is past
            return position, self._ready(str(position))
        position = self.tail.position
        async with self.tail.database.session() as session:
            kept = await kept_range(session)
        newest = max(kept[1] if kept else 0, position)
        if self.after > newest:
            return position, self._reset(position, "Last-Event-ID is beyond every event this router has written")
        if self.after < position and (kept is None or kept[0] > self.after + 1):
            return position, self._reset(position, "events after Last-Event-ID are no longer kept")
        return self.after, self._ready(None)

    def _ready(self, id: str | None) -> Frame:
        data = {
            "agent_id": self.agent_id,
            "resumed_after": self.after,
            "heartbeat_seconds": self.config.heartbeat_seconds,
        }
        return Frame(event="ready", id=id, data=orjson.dumps(data), retry=self.config.retry_ms)

    def _reset(self, position: int, reason: str) -> Frame:
        data = {"agent_id": self.agent_id, "reason": reason, "resume_after": position}
        return Frame(event="reset", id=str(position), data=orjson.dumps(data), retry=self.config.retry_ms)
