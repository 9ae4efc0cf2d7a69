"""The router's OpenAPI document is the contract contact-center developers read: every body has an example."""

from __future__ import annotations

from typing import Any

from tests.unit.router.conftest import RouterHarness


async def test_every_request_body_has_an_example_and_every_route_a_summary(router: RouterHarness) -> None:
    spec: dict[str, Any] = (await router.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    missing_examples, missing_summaries = [], []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not operation.get("summary"):
                missing_summaries.append(f"{method.upper()} {path}")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            ref = body["schema"].get("$ref", "")
            schema = schemas.get(ref.rsplit("/", 1)[-1], body["schema"])
            if not (schema.get("examples") or body.get("examples") or body.get("example")):
                missing_examples.append(f"{method.upper()} {path}")
    assert missing_examples == []
    assert missing_summaries == []


async def test_every_write_documents_problem_responses(router: RouterHarness) -> None:
    spec: dict[str, Any] = (await router.client.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                assert "4XX" in operation["responses"], f"{method.upper()} {path}"
