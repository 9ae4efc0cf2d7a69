"""The fallback: ask the knowledge service directly when its suggestion event has not arrived yet.

A short timeout and no retries: the agent's context must answer fast even when knowledge is slow or down.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httpx

log = logging.getLogger(__name__)


class KnowledgeClient:
    def __init__(
        self, base_url: str, api_key: str | None, timeout_ms: int, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._deadline = timeout_ms / 1000
        self._client = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout_ms / 1000, transport=transport
        )

    async def suggestions(self, ticket_id: uuid.UUID) -> dict[str, Any] | None:
        """The knowledge service's suggestions for a ticket, or None if it cannot say in time."""
        try:
            # httpx times each phase; the agent waits for the whole call, so the deadline is on the whole call.
            async with asyncio.timeout(self._deadline):
                response = await self._client.get(f"/v1/tickets/{ticket_id}/suggestions")
        except (httpx.HTTPError, TimeoutError) as exc:
            log.info("knowledge fallback unavailable: %r", exc)
            return None
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._client.aclose()
