"""The scope table in docs/router.md is the code's: every operation answers every scope as it says."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from services.router.access.scope_table import DOCS, PROBES, SCOPES, admitted_scopes, parse, with_table
from services.router.bootstrap import API_ROUTERS
from tests.unit.router.conftest import RouterHarness

PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def test_the_documented_scope_table_is_generated_from_the_code() -> None:
    current = DOCS.read_text()
    expected = with_table(current, admitted_scopes(API_ROUTERS))
    assert current == expected, (
        "docs/router.md's scope table is stale: run python -m services.router.access.scope_table"
    )


async def _operations(router: RouterHarness) -> list[tuple[str, str]]:
    spec: dict[str, Any] = (await router.client.get("/openapi.json")).json()
    return [(method.upper(), path) for path, operations in spec["paths"].items() for method in operations]


async def test_every_operation_of_the_openapi_document_is_in_the_table(router: RouterHarness) -> None:
    documented = parse(DOCS.read_text())
    operations = {f"{method} {path}" for method, path in await _operations(router)}
    assert operations <= set(documented)
    assert {op for op, scopes in documented.items() if scopes is not None} <= operations
    assert {op for op, scopes in documented.items() if scopes is None} == set(PROBES)


async def _call(router: RouterHarness, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    concrete = re.sub(r"\{[^}]+\}", PLACEHOLDER, path)
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    return await router.client.request(method, concrete, json=body, headers=headers)


def _refused_for_scope(response: httpx.Response) -> bool:
    """A 403 for the key's scope, as opposed to a rule about this ticket or agent (which names its rule)."""
    return response.status_code == 403 and "rule" not in response.json()


@pytest.mark.parametrize("scope", [scope.value for scope in SCOPES])
async def test_every_operation_admits_exactly_the_documented_scopes(router: RouterHarness, scope: str) -> None:
    documented = parse(DOCS.read_text())
    key = await router.key(scope, rate=100_000)
    wrong = []
    for method, path in await _operations(router):
        response = await _call(router, method, path, key)
        admitted = documented[f"{method} {path}"]
        allowed = admitted is None or scope in {s.value for s in admitted}
        assert response.status_code != 401, f"{method} {path}: {response.text}"
        assert response.status_code < 500, f"{method} {path}: {response.text}"
        if allowed == _refused_for_scope(response):
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
    assert wrong == [], f"{scope} answered against the documented table"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer fck_000000000000_unknown"}, {"X-API-Key": "not-a-key"}],
    ids=["no-key", "unknown-key", "malformed-key"],
)
async def test_every_operation_needs_a_key(router: RouterHarness, headers: dict[str, str]) -> None:
    documented = parse(DOCS.read_text())
    async with httpx.AsyncClient(transport=router.client._transport, base_url="http://router") as anonymous:
        for method, path in await _operations(router):
            concrete = re.sub(r"\{[^}]+\}", PLACEHOLDER, path)
            body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
            response = await anonymous.request(method, concrete, json=body, headers=headers)
            if documented[f"{method} {path}"] is None:
                assert response.status_code == 200, f"{method} {path}: {response.status_code}"
                continue
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
            assert response.headers["content-type"] == "application/problem+json"


async def test_the_contact_center_reads_tickets_customers_and_orders_but_not_the_staffing(
    router: RouterHarness,
) -> None:
    key = await router.key("contact-center")
    for path in ("/v1/agents", "/v1/intents", f"/v1/tickets/{PLACEHOLDER}/routing"):
        response = await router.client.get(path, headers=key)
        assert response.status_code == 403, path
    assert (await router.client.post("/v1/classify", json={"text": "card"}, headers=key)).status_code == 403
    assert (await router.client.get(f"/v1/customers/{PLACEHOLDER}", headers=key)).status_code == 404
