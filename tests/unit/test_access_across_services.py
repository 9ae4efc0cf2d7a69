"""One API key for the whole system: issued by the router, honoured by knowledge and the notifier."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.web.auth import Scope
from tests.conftest import wait_until
from tests.openapi_documents import concrete_path, openapi_operations
from tests.unit.conftest import Stack


async def issue(stack: Stack, *scopes: str) -> dict[str, str]:
    response = await stack.router.post("/v1/api-keys", json={"name": "crm", "scopes": list(scopes)})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def status_with(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    return (await client.get(path, headers=headers)).status_code


@pytest.mark.parametrize("service", ["knowledge", "notifier"])
async def test_a_key_issued_by_the_router_works_on_the_other_services(stack: Stack, service: str) -> None:
    headers = await issue(stack, "ops")
    client = stack.clients[service]
    path = "/v1/search?q=card" if service == "knowledge" else "/v1/problems"

    async def accepted() -> bool:
        return await status_with(client, path, headers) == 200

    await wait_until(accepted, timeout=60)


async def test_a_revoked_key_stops_working_on_the_other_services(stack: Stack) -> None:
    headers = await issue(stack, "ops")
    await wait_until(lambda: _is(stack.knowledge, headers, 200), timeout=60)
    key_id = (await stack.router.get("/v1/api-keys")).json()["items"][-1]["key_id"]
    assert (await stack.router.delete(f"/v1/api-keys/{key_id}")).status_code == 204
    await stack.runtimes["router"].relay.flush(timeout=60)
    await stack.bus.wait_idle()
    stack.runtimes["knowledge"].authenticator.forget()  # skip the 30 s cache the test need not wait out
    await wait_until(lambda: _is(stack.knowledge, headers, 401), timeout=60)


async def _is(client: httpx.AsyncClient, headers: dict[str, str], expected: int) -> bool:
    return await status_with(client, "/v1/search?q=card", headers) == expected


async def test_knowledge_writes_need_a_supervisor(stack: Stack) -> None:
    reader = await issue(stack, "contact-center")
    await wait_until(lambda: _is(stack.knowledge, reader, 200), timeout=60)
    response = await stack.knowledge.post(
        "/v1/articles", json={"title": "t", "body": "b", "locale": "en"}, headers=reader
    )
    assert response.status_code == 403
    assert (await stack.knowledge.get("/v1/search?q=card", headers={"Authorization": "Bearer nope"})).status_code == 401


DOCS = Path(__file__).resolve().parents[2] / "docs"
# The same table, markers and cells as docs/router.md's (generated there from the router's code).
TABLE = re.compile(r"<!-- scope table: [^\n]*-->\n(?P<table>.*?)\n<!-- end of the scope table -->", re.DOTALL)
PROBES = ("GET /healthz", "GET /metrics", "GET /readyz")
NO_KEY, ALLOWED, REFUSED = "no key", "yes", "-"


def scope_table(admitted: dict[str, set[str] | None]) -> str:
    """Markdown: one row per operation in path order, a column per scope (None: callable without a key)."""
    lines = [
        "| operation | " + " | ".join(f"`{scope.value}`" for scope in Scope) + " |",
        "| --- |" + " :---: |" * len(Scope),
    ]
    for operation in sorted(admitted, key=lambda op: (op.split(" ", 1)[1], op)):
        scopes = admitted[operation]
        cells = [NO_KEY if scopes is None else ALLOWED if s.value in scopes else REFUSED for s in Scope]
        lines.append(f"| `{operation}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def answered_scopes(client: httpx.AsyncClient, keys: dict[str, dict[str, str]]) -> dict[str, set[str] | None]:
    """Which scopes each operation of the service's OpenAPI document admits, found by calling it with each key
    (a 403 refuses; anything else, a 404 for the placeholder id or a 422 for the empty body, admits)."""
    document = (await client.get("/openapi.json")).json()
    admitted: dict[str, set[str] | None] = {}
    for method, path, operation in openapi_operations(document):
        call = partial(client.request, method, concrete_path(path, operation), json=_empty_body(operation))
        if (await call(headers={"Authorization": ""})).status_code != 401:
            admitted[f"{method} {path}"] = None
            continue
        scopes = admitted[f"{method} {path}"] = set()
        for scope, headers in keys.items():
            response = await call(headers=headers)
            assert response.status_code != 401, (method, path, scope, response.text)
            assert response.status_code < 500, (method, path, scope, response.text)
            if response.status_code != 403:
                scopes.add(scope)
    return admitted


def _empty_body(operation: dict[str, Any]) -> dict[str, Any] | None:
    return {} if "requestBody" in operation else None


@pytest.mark.parametrize("service", ["knowledge", "notifier", "router"])
async def test_each_operation_admits_exactly_the_scopes_of_the_documented_table(stack: Stack, service: str) -> None:
    keys = {scope.value: await issue(stack, scope.value) for scope in Scope}
    client = stack.clients[service]
    document = (await client.get("/openapi.json")).json()
    probe = next(p for m, p, op in openapi_operations(document) if m == "GET" and op.get("security") and "{" not in p)
    for headers in keys.values():
        await wait_until(partial(_known, client, probe, headers), timeout=60)
    answered = await answered_scopes(client, keys)
    assert {op for op, scopes in answered.items() if scopes is None} == set(PROBES)
    documented = TABLE.search((DOCS / f"{service}.md").read_text())
    assert documented is not None, f"docs/{service}.md has no scope table"
    code = scope_table(answered)
    assert documented["table"] == code, f"docs/{service}.md's scope table is not what the code does:\n{code}"


@pytest.mark.parametrize("service", ["knowledge", "notifier", "router"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer fck_000000000000_unknown"},
        {"Authorization": "", "X-API-Key": "not-a-key"},
        {"Authorization": "Basic x"},
    ],
    ids=["unknown-key", "malformed-key", "not-a-bearer"],
)
async def test_an_unknown_or_malformed_key_is_a_401_problem_everywhere(
    stack: Stack, service: str, headers: dict[str, str]
) -> None:
    client = stack.clients[service]
    document = (await client.get("/openapi.json")).json()
    for method, path, operation in openapi_operations(document):
        if operation.get("security"):
            body = _empty_body(operation)
            response = await client.request(method, concrete_path(path, operation), json=body, headers=headers)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"


async def _known(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> bool:
    """The key's ApiKeyIssued has reached the service (an unknown key is a 401, a missing scope a 403)."""
    return (await client.get(path, headers=headers)).status_code != 401
