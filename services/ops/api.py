"""The services' public HTTP APIs as the CLI calls them, with the admin key from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from services.ops.errors import NotFound, OpsError, Unreachable

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ServiceApi:
    """One service's base URL and the key the CLI presents (FIRSTCALL_ADMIN_API_KEY, never printed)."""

    service: str
    base_url: str
    api_key: str = field(repr=False)
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)  # tests: httpx.MockTransport

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON answer; NotFound for a 404, Unreachable when nothing answers, OpsError otherwise."""
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=TIMEOUT_SECONDS, transport=self.transport
            ) as client:
                response = await client.get(path, params=query, headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(f"the {self.service} at {self.base_url} did not answer: {exc!r}") from exc
        if response.status_code == 404:
            raise NotFound(f"{self.service}: {path} not found")
        if response.status_code >= 400:
            raise OpsError(f"{self.service} answered {response.status_code} to {path}: {_detail(response)}")
        return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]
