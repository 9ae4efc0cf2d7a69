"""The router's OpenAPI document is the contract contact-center developers read: every body has an example."""

from __future__ import annotations

from typing import Any

from tests.factories import order_request
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
                # Each client error it answers (shared/web/openapi.py), or a blanket 4XX entry.
                assert any(code.startswith("4") for code in operation["responses"]), f"{method.upper()} {path}"


def _unbounded(
    schema: dict[str, Any], defs: dict[str, Any], where: str, seen: frozenset[str] = frozenset()
) -> list[str]:
    """Every place under `schema` where a request may carry a value without a documented limit."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _unbounded(defs[name], defs, where, seen | {name})
    found = [
        f
        for key in ("anyOf", "oneOf", "allOf")
        for sub in schema.get(key, [])
        for f in _unbounded(sub, defs, where, seen)
    ]
    kind, keys = schema.get("type"), set(schema)
    if (
        kind == "string"
        and not keys & {"maxLength", "enum", "const"}
        and schema.get("format") not in ("uuid", "date-time")
    ):
        found.append(f"{where}: a string without maxLength")
    if kind == "integer" and not ({"maximum", "enum"} & keys and {"minimum", "enum"} & keys):
        found.append(f"{where}: an integer without minimum and maximum")
    if kind == "array":
        found += [] if "maxItems" in keys else [f"{where}: an array without maxItems"]
        found += _unbounded(schema.get("items", {}), defs, f"{where}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(sub, defs, f"{where}.{name}", seen)
    if isinstance(extra := schema.get("additionalProperties"), dict):
        names = schema.get("propertyNames", {})
        if "enum" not in names and not ("maxProperties" in keys and "maxLength" in names):
            found.append(f"{where}: an object without maxProperties and a key length")
        found += _unbounded(extra, defs, f"{where}.*", seen)
    return found


async def test_every_value_a_request_may_carry_has_a_documented_bound(router: RouterHarness) -> None:
    spec: dict[str, Any] = (await router.client.get("/openapi.json")).json()
    defs = spec["components"]["schemas"]
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for content in operation.get("requestBody", {}).get("content", {}).values():
                found += _unbounded(content["schema"], defs, f"{where} body")
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "header" or parameter["name"] == "Idempotency-Key":
                    found += _unbounded(parameter["schema"], defs, f"{where} {parameter['in']}.{parameter['name']}")
    assert found == []


async def test_recording_an_order_documents_both_answers_it_gives(router: RouterHarness) -> None:
    spec: dict[str, Any] = (await router.client.get("/openapi.json")).json()
    responses = spec["paths"]["/v1/orders"]["post"]["responses"]
    body = order_request()
    first = await router.post("/v1/orders", body)
    again = await router.post("/v1/orders", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    for answer in (first, again):
        documented = responses[str(answer.status_code)]
        assert documented["content"]["application/json"]["schema"]["$ref"].endswith("/OrderRead")
        assert "Location" in documented["headers"]
        assert answer.headers["location"] == f"/v1/orders/{first.json()['id']}"
