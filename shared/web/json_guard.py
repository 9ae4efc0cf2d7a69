"""What no JSON body may carry, refused for every route before a handler sees it.

Three kinds of value are valid JSON (or accepted by Python's parser) yet break something downstream, and
each route's schema would have to remember to refuse them: integers outside 64 bits (the idempotency
fingerprint, orjson and the databases cannot hold them), NUL characters in strings or keys (PostgreSQL's
text refuses them) and NaN/Infinity (not JSON at all, though Python reads them). Nesting deeper than any
schema of ours goes is refused too, before the parser recurses into it. One check here makes the whole
class answer 422 (400 for what is not JSON) on every route, present and future; schemas still set the
tighter bound each field means.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PROBLEM_BASE, PROBLEM_JSON

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 32  # our deepest schema (a ticket's nested attributes) is a few levels; 32 leaves room
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SUSPECT = re.compile(rb"\\u0000|NaN|Infinity|[0-9]{19}")


class UnreadableBody(ValueError):
    """The body is not JSON we read (NaN, Infinity, or nested too deep): a 400."""


def _constant(name: str) -> Any:
    raise UnreadableBody(f"{name} is not a JSON number")


def _first_fault(value: Any, path: str, depth: int) -> tuple[str, str] | None:
    """The first (field, message) that no route may accept, depth-first; None when the value is clean."""
    if isinstance(value, str):
        return (path, "must not contain NUL characters") if "\x00" in value else None
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return path, f"integers must lie between {INT64_MIN} and {INT64_MAX}"
    if depth >= MAX_DEPTH:
        return path, f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return path, "keys must not contain NUL characters"
            fault = _first_fault(item, f"{path}.{key}", depth + 1)
            if fault:
                return fault
    elif isinstance(value, list):
        for index, item in enumerate(value):
            fault = _first_fault(item, f"{path}.{index}", depth + 1)
            if fault:
                return fault
    return None


def _nesting_exceeds(body: bytes) -> bool:
    """Whether brackets nest deeper than MAX_DEPTH, counted outside strings, without parsing."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH + 1:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def body_fault(body: bytes, *, lines: bool = False) -> tuple[int, str, str] | None:
    """(status, field, message) for a body no route may accept; None to let the route parse it."""
    documents = [line for line in body.splitlines() if line.strip()] if lines else [body]
    for number, document in enumerate(documents):
        prefix = f"body.{number}" if lines else "body"
        # Fast path, most bodies: no escaped NUL, no NaN/Infinity, no 19-digit run, few brackets.
        if not _SUSPECT.search(document) and document.count(b"[") + document.count(b"{") <= MAX_DEPTH:
            continue
        if _nesting_exceeds(document):
            return 400, prefix, f"nested deeper than {MAX_DEPTH} levels"
        try:
            value = json.loads(document, parse_constant=_constant)
        except UnreadableBody as exc:
            return 400, prefix, str(exc)
        except ValueError:
            continue  # not JSON at all: the route's own parser answers 400 malformed-json
        fault = _first_fault(value, prefix, 0)
        if fault:
            return 422, fault[0], fault[1]
    return None


class JsonGuardMiddleware:
    """Buffer a JSON (or NDJSON) request body, refuse what `body_fault` finds, then replay it to the app.

    It sits inside BodyLimitMiddleware, so what it buffers is already bounded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = _content_type(scope) if scope["type"] == "http" else ""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or "json" not in content_type:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away before sending its body
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except HTTPException as exc:  # the body limit: answered here, as no exception handler is outside us
            await _send_problem(scope, send, exc.status_code, "payload-too-large", str(exc.detail), error=None)
            return
        body = b"".join(chunks)
        fault = body_fault(body, lines="ndjson" in content_type)
        if fault:
            status, field, reason = fault
            slug = "validation-error" if status == 422 else "malformed-json"
            title = "Request is invalid" if status == 422 else "Request body is not valid JSON"
            await _send_problem(scope, send, status, slug, title, error=(field, reason))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return str(value.decode("latin-1").lower())
    return ""


async def _send_problem(
    scope: Scope, send: Send, status: int, slug: str, title: str, *, error: tuple[str, str] | None
) -> None:
    problem: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    problem["instance"] = scope.get("path", "")
    if error:
        field, message = error
        problem["detail"] = f"{field}: {message}"
        problem["errors"] = [{"field": field, "message": message, "type": "value_error"}]
    body = orjson.dumps(problem)
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
