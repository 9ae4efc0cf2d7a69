"""Reading a service's OpenAPI document in tests: its operations, a path to call, the examples it shows, and
schemathesis' response checks (the fuzz run's) against it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jsonschema_rs
import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]


def openapi_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every operation an OpenAPI document describes."""
    return [(method.upper(), path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def api_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The service's own operations (/v1); probes and metrics are every service's, documented in shared/."""
    return [(method, path, op) for method, path, op in openapi_operations(document) if path.startswith("/v1/")]


def concrete_path(path: str, operation: dict[str, Any]) -> str:
    """The path with every parameter filled by a value of its type (a fresh UUID names nothing stored)."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            schema = parameter["schema"]
            value = schema["enum"][0] if "enum" in schema else str(uuid.uuid4())
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a `$ref` names (followed until it names none)."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def examples_of(document: dict[str, Any], content: dict[str, Any]) -> list[Any]:
    """The examples a media type shows: its own, else its schema's (resolved), else an array's item's."""
    if "example" in content or "examples" in content:
        return [content["example"]] if "example" in content else [e["value"] for e in content["examples"].values()]
    schema = resolved(document, content.get("schema", {}))
    if schema.get("examples"):
        return list(schema["examples"])
    items = resolved(document, schema.get("items", {}))
    return [[example] for example in items.get("examples", [])]


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]}, validate_formats=True)


def invalid_examples(document: dict[str, Any]) -> tuple[int, list[str]]:
    """How many examples the /v1 operations show (bodies, answers, parameters), and each one's schema errors."""
    checked, invalid = 0, []
    for method, path, operation in api_operations(document):
        contents = [("request", c) for c in operation.get("requestBody", {}).get("content", {}).values()]
        contents += [(status, c) for status, r in operation["responses"].items() for c in r.get("content", {}).values()]
        for where, content in contents:
            for example in examples_of(document, content):
                checked += 1
                errors = [e.message for e in validator(document, content["schema"]).iter_errors(example)]
                invalid += [f"{method} {path} {where}: {error}" for error in errors]
        for parameter in operation.get("parameters", []):
            for example in parameter["schema"].get("examples", []):
                checked += 1
                errors = [e.message for e in validator(document, parameter["schema"]).iter_errors(example)]
                invalid += [f"{method} {path} {parameter['name']}: {error}" for error in errors]
    return checked, invalid


def conforms(document: dict[str, Any], path: str, method: str, response: httpx.Response, **parameters: str) -> None:
    """Schemathesis' own response checks (the fuzz run's): status, content type, headers and body documented."""
    operation = schemathesis.openapi.from_dict(document)[path][method.upper()]
    operation.Case(path_parameters=parameters).validate_response(response, checks=CHECKS)
