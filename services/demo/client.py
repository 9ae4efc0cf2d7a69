"""The demo's HTTP side: the three services' public APIs, called as contact-center software would call them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class DemoFailure(RuntimeError):
    """A step of the story did not happen as it should; the message says which and what was answered."""


@dataclass
class Services:
    """One client per service, each with a key allowed to do everything the demo does (admin)."""

    router: httpx.AsyncClient
    knowledge: httpx.AsyncClient
    notifier: httpx.AsyncClient

    async def aclose(self) -> None:
        for client in (self.router, self.knowledge, self.notifier):
            await client.aclose()


async def call(client: httpx.AsyncClient, method: str, path: str, body: Any = None, **headers: str) -> Any:
    """One API call; anything but a success is a DemoFailure quoting the problem+json."""
    response = await client.request(method, path, json=body, headers=headers)
    if response.status_code >= 300:
        raise DemoFailure(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
    return response.json() if response.content else None


async def until(check: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = 120) -> T:
    """Poll `check` until it gives something (events travel between the services in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := await check()) is not None:
            return found
        await asyncio.sleep(0.2)
    raise DemoFailure(f"{what}: not seen within {timeout:.0f} s")


@contextlib.asynccontextmanager
async def still(tell: Callable[[str], None], doing: str, *, every: float = 10) -> AsyncIterator[None]:
    """Say `doing` is still going on every `every` seconds while the block runs: a wait on a loaded machine
    (the intent training: 14 s here, 46 s on a busy 2-core machine) is never a silence."""
    started = time.monotonic()

    async def remind() -> None:
        while True:
            await asyncio.sleep(every)
            tell(f"    still {doing} ({time.monotonic() - started:.0f} s)")

    reminder = asyncio.create_task(remind())
    try:
        yield
    finally:
        reminder.cancel()
