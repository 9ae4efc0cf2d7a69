"""Opening the personal fields the router sealed, with the customer's key fetched from the router.

The router seals customers' personal fields in its events (shared/sealing.py, decision 0031). A consumer
opens them before the event is validated: the key comes from the router once (GET
/v1/customers/{id}/data-key) and stays in this process's memory for a few minutes, never in a table, so a
customer's erasure leaves no copy of their key in any database. The router down means the event waits
(HandlerUnavailable); a customer erased means their event is skipped, as shared/erased.py skips it.

A list of several customers' words (a problem event's reports) is sealed item by item (`fcs2:`): each item
opens with its own author's key, and an erased author's item is left out while the others are read; a
text field sealed the same way (a problem's summary) opens with its author's key or, once they are erased,
reads ERASED_TEXT. The
notifier, which writes those lists, seals with the same keys (`customer_keys_of`), but only once the router
is seen sealing (`router_seals`) and only for customers the router made a key for (`key_if_made`).
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.port import HandlerUnavailable, PoisonEvent
from shared.events.catalogue import CustomerErased
from shared.events.envelope import CloudEvent
from shared.runtime import ServiceRuntime
from shared.sealing import SealError, open_data, open_items, sealed_fields, sealed_item_authors

log = logging.getLogger(__name__)
_ERASED = CustomerErased.cloudevent_type()
EXTENSION = "data_keys"
ROUTER_TIMEOUT = 5.0
KEY_SECONDS = 300.0  # how long a key stays in memory; another replica's copy dies at most this long after erasure
MAX_KEYS = 10_000  # about 1 MB: the customers of the last few minutes' events
# The router made no key for this customer (it was not sealing when their events were written). Never a
# key: those are 32 bytes.
NOT_MADE = b""
_KEYS_INFO = "firstcall.data_keys"


class CustomerKeys:
    """Customers' data keys from the router, each kept in memory for KEY_SECONDS (None: erased)."""

    def __init__(
        self, *, router_url: str, api_key: str | None, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.router_url, self.api_key, self.timeout = router_url.rstrip("/"), api_key, timeout
        # Embedded mode points this at the router's app in the same process (services/embedded.py).
        self.transport = transport
        self._client: httpx.AsyncClient | None = None
        self._cache: OrderedDict[str, tuple[float, bytes | None]] = OrderedDict()
        # Whether this process has met a sealed field or item since it started: the router seals, so the
        # service's own events should seal its customers' words too (and ask the router only then).
        self.router_seals = False

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def key(self, customer_id: str) -> bytes | None:
        """The customer's key; None once they are erased. HandlerUnavailable while the router cannot say."""
        # A "none made" remembered for a sealer is asked again: the key may have been made since.
        key = await self._known(customer_id, trust_not_made=False)
        if key == NOT_MADE:
            # Sealed, yet the router never made the key: another environment's event, or the router's data lost.
            raise PoisonEvent(f"the router has no key for customer {customer_id}: its sealed fields cannot open")
        return key

    async def key_if_made(self, customer_id: str) -> bytes | None:
        """For sealing: the customer's key, None once erased, NOT_MADE if the router made none (leave clear)."""
        return await self._known(customer_id, trust_not_made=True)

    async def _known(self, customer_id: str, *, trust_not_made: bool) -> bytes | None:
        cached = self._cache.get(customer_id)
        if cached is not None and cached[0] > time.monotonic() and (trust_not_made or cached[1] != NOT_MADE):
            self._cache.move_to_end(customer_id)
            return cached[1]
        key = await self._fetch(customer_id)
        self._cache[customer_id] = (time.monotonic() + KEY_SECONDS, key)
        self._cache.move_to_end(customer_id)
        while len(self._cache) > MAX_KEYS:
            self._cache.popitem(last=False)
        return key

    def forget(self, customer_ids: Iterable[str]) -> None:
        for customer_id in customer_ids:
            self._cache.pop(customer_id, None)

    async def _fetch(self, customer_id: str) -> bytes | None:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.AsyncClient(
                base_url=self.router_url, headers=headers, timeout=self.timeout, transport=self.transport
            )
        try:
            answer = await self._client.get(f"/v1/customers/{uuid.UUID(customer_id)}/data-key")
        except (httpx.HTTPError, OSError) as exc:
            raise HandlerUnavailable(f"the router did not give customer {customer_id}'s key: {exc!r}"[:500]) from exc
        if answer.status_code == 200:
            return base64.b64decode(answer.json()["key"])
        if answer.status_code == 410:
            return None
        if answer.status_code == 404:
            return NOT_MADE
        # 401/403 (a wrong key) and 5xx alike: the events wait for someone to fix it rather than be lost.
        raise HandlerUnavailable(f"the router answered {answer.status_code} for customer {customer_id}'s key")


class SealedFieldOpener:
    """The dispatcher's opener: an event's data with its sealed fields opened, or None for an erased customer."""

    def __init__(self, keys: CustomerKeys) -> None:
        self.keys = keys

    async def __call__(self, envelope: CloudEvent) -> dict[str, Any] | None:
        data = envelope.data
        if envelope.type == _ERASED:
            self.keys.forget(str(i) for i in [data.get("customer_id"), *data.get("merged_customer_ids", [])])
            return data
        try:
            authors = sealed_item_authors(data)
            if not sealed_fields(data) and not authors:
                return data
            self.keys.router_seals = True
            if sealed_fields(data):
                customer_id = str(data.get("customer_id"))
                key = await self.keys.key(customer_id)
                if key is None:
                    log.info("skipped %s %s: its customer was erased", envelope.type, envelope.id)
                    return None
                data = open_data(data, key)
            # An erased author's item is left out (their key is None); the event and the others' items stay.
            return open_items(data, {author: await self.keys.key(author) for author in sorted(authors)})
        except SealError as exc:
            raise PoisonEvent(f"{envelope.type} {envelope.id}: {exc}") from exc


def open_sealed_fields(runtime: ServiceRuntime) -> CustomerKeys:
    """Let the service's consumers open the router's sealed fields, asking the router with a service key."""
    settings = runtime.settings
    key = settings.data_key_api_key or settings.admin_api_key
    keys = CustomerKeys(
        router_url=str(settings.router_url),
        api_key=key.get_secret_value() if key else None,
        timeout=ROUTER_TIMEOUT,
    )
    for binding in runtime.consumers:
        binding.dispatcher.opener = SealedFieldOpener(keys)
    # The service's own code may seal its customers' words with the same keys (customer_keys_of).
    sessions = runtime.database.sessions
    sessions.configure(info={**sessions.kw.get("info", {}), _KEYS_INFO: keys})
    runtime.components.append(keys)
    runtime.extensions[EXTENSION] = keys
    return keys


def customer_keys_of(session: AsyncSession) -> CustomerKeys | None:
    """The customers' keys of the service this session belongs to (None: it opens and seals nothing)."""
    keys = session.info.get(_KEYS_INFO)
    return keys if isinstance(keys, CustomerKeys) else None


def ask_router_in_process(runtimes: Sequence[ServiceRuntime], apps: Sequence[FastAPI]) -> None:
    """One process (embedded mode): key requests go straight to the router's app, whatever its port."""
    routers = [app for runtime, app in zip(runtimes, apps, strict=True) if runtime.name == "router"]
    for runtime in runtimes:
        keys = runtime.extensions.get(EXTENSION)
        if routers and isinstance(keys, CustomerKeys):
            keys.transport = httpx.ASGITransport(app=routers[0])
