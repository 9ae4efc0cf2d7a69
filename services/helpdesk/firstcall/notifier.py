"""The notifier's public API as the bridge uses it: feedback clusters to show in RT, and owners' decisions.

Its failures are the router client's kinds (RouterUnavailable: try again later; RouterRefused: this request
will not succeed), so the effect worker and the readers treat both sides of firstcall alike. A decision
carries an Idempotency-Key made of the RT transaction that decided it: read twice, it is sent once.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.helpdesk.firstcall.client import RouterAnswer, RouterUnavailable, answer_of

PAGE = 100


class NotifierClient:
    def __init__(self, *, base_url: str, api_key: str, timeout: float, transport: Any = None) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "firstcall-helpdesk-bridge"},
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def open_feedback(self, *, limit: int) -> list[dict[str, Any]]:
        """Open feedback clusters, newest first, at most `limit` (the list without voices)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"status": "open", "limit": min(PAGE, limit)}
        while len(items) < limit:
            body = (await self._call("GET", "/v1/feedback", params=params)).body
            items += list(body.get("items") or [])
            if not body.get("next_cursor"):
                break
            params["cursor"] = body["next_cursor"]
        return items[:limit]

    async def feedback(self, cluster_id: uuid.UUID) -> dict[str, Any]:
        """One cluster with its voices (the customers' own words, oldest first)."""
        return (await self._call("GET", f"/v1/feedback/{cluster_id}")).body

    async def decide(self, cluster_id: uuid.UUID, body: dict[str, Any], *, key: str) -> RouterAnswer:
        return await self._call("POST", f"/v1/feedback/{cluster_id}/decision", json=body, key=key)

    async def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None, key: str | None = None
    ) -> RouterAnswer:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            response = await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise RouterUnavailable(f"notifier {method} {path}: {exc!r}") from exc
        # A key without the scope (403) is an admin's to fix; the decisions wait for it rather than fail.
        return answer_of(f"notifier {method} {path}", response, waiting={401, 403, 429})
