"""The router's public API as the bridge uses it: reads for RT's comments, and agents' actions from RT.

Every write carries an Idempotency-Key derived from what caused it (an RT transaction), so a bridge that
restarts, or reads the same RT change twice, never applies it twice. The key names the acting agent in
the body: it is an agent-scoped key not bound to one agent (services/router/access/acting.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


class RouterUnavailable(Exception):
    """The router cannot be reached, is overloaded, or does not accept the bridge's key: try again later."""


class RouterRefused(Exception):
    """The router answered with a problem about this request (4xx): the request as such will not succeed."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status, self.problem = status, problem
        super().__init__(self.explanation)

    @property
    def rule(self) -> str | None:
        rule = self.problem.get("rule")
        return str(rule) if rule else None

    @property
    def explanation(self) -> str:
        title = str(self.problem.get("title") or f"HTTP {self.status}")
        detail = self.problem.get("detail")
        text = f"{title}: {detail}" if detail else title
        return f"{text} (rule: {self.rule})" if self.rule else text


@dataclass(frozen=True)
class RouterAnswer:
    status: int
    body: dict[str, Any]


class RouterClient:
    def __init__(self, *, base_url: str, api_key: str, timeout: float, transport: Any = None) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "firstcall-helpdesk-bridge"},
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def customer(self, customer_id: uuid.UUID) -> dict[str, Any]:
        return (await self._call("GET", f"/v1/customers/{customer_id}")).body

    async def ticket(self, ticket_id: uuid.UUID) -> dict[str, Any]:
        return (await self._call("GET", f"/v1/tickets/{ticket_id}")).body

    async def context(self, ticket_id: uuid.UUID) -> dict[str, Any]:
        """The context of the ticket's assigned agent (the key is bound to no agent)."""
        return (await self._call("GET", f"/v1/tickets/{ticket_id}/context")).body

    async def agent(self, agent_id: uuid.UUID) -> dict[str, Any]:
        return (await self._call("GET", f"/v1/agents/{agent_id}")).body

    async def add_note(self, ticket_id: uuid.UUID, body: dict[str, Any], *, key: str) -> RouterAnswer:
        return await self._call("POST", f"/v1/tickets/{ticket_id}/notes", json=body, key=key)

    async def transfer(self, ticket_id: uuid.UUID, body: dict[str, Any], *, key: str) -> RouterAnswer:
        return await self._call("POST", f"/v1/tickets/{ticket_id}/transfers", json=body, key=key)

    async def resolve(self, ticket_id: uuid.UUID, body: dict[str, Any], *, key: str) -> RouterAnswer:
        return await self._call("POST", f"/v1/tickets/{ticket_id}/resolutions", json=body, key=key)

    async def reopen(self, ticket_id: uuid.UUID, body: dict[str, Any], *, key: str) -> RouterAnswer:
        return await self._call("POST", f"/v1/tickets/{ticket_id}/reopen", json=body, key=key)

    async def _call(self, method: str, path: str, *, json: Any = None, key: str | None = None) -> RouterAnswer:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            response = await self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise RouterUnavailable(f"router {method} {path}: {exc!r}") from exc
        return answer_of(f"router {method} {path}", response, waiting={401, 429})


def answer_of(call: str, response: httpx.Response, *, waiting: set[int]) -> RouterAnswer:
    """A firstcall service's answer: RouterUnavailable for the statuses in `waiting` and 5xx (try again
    later), RouterRefused for any other 4xx (this request will not succeed)."""
    if response.status_code in waiting or response.status_code >= 500:
        raise RouterUnavailable(f"{call}: {response.status_code} {response.text[:300]}")
    body = _json(response)
    if response.status_code >= 400:
        raise RouterRefused(response.status_code, body)
    return RouterAnswer(response.status_code, body)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"title": f"HTTP {response.status_code}", "detail": response.text[:300]}
    return body if isinstance(body, dict) else {"items": body}
