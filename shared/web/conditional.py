"""Conditional requests (RFC 9110, section 13) for every service: ETags, If-Match on updates, If-None-Match.

The entity tag is strong: a hash of the JSON representation (keys sorted), so it changes whenever anything a
GET shows changes, whichever path changed it, and needs no column to keep. If-Match uses the strong
comparison the RFC requires (a weak tag `W/"..."` never matches) and is checked on the row the update has
locked, so of two writers that read the same tag the second gets 412. If-Match stays optional (no 428), as on
the router's tickets (docs/decisions/0005-ticket-life.md).

`NotModifiedMiddleware` answers a GET whose `If-None-Match` names the ETag the answer would carry with a 304
and no body, for every route that sets an ETag: the representation is still built (the tag is its hash), but
the bytes stay home, which is what a desktop polling a ticket or an article saves.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Header
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PROBLEM_BASE, PROBLEM_JSON, FieldError, ProblemError, problem_response

_OPAQUE = r'"[\x21\x23-\x7e]*"'
_TAG = rf"(?:W/)?{_OPAQUE}"
IF_MATCH_PATTERN = rf"^\s*(?:\*|{_TAG}(?:\s*,\s*{_TAG})*)\s*$"
_TAGS = re.compile(_TAG)
_CONDITION = re.compile(IF_MATCH_PATTERN)
MAX_CONDITION_LENGTH = 1_000
# How the OpenAPI documents describe If-None-Match wherever a read answers an ETag (shared/web/openapi.py).
IF_NONE_MATCH_SCHEMA = {"type": "string", "maxLength": MAX_CONDITION_LENGTH, "pattern": IF_MATCH_PATTERN}
# What a 304 drops of the 200 it replaces: the body's own metadata (RFC 9110, 15.4.5); ETag, the rate limit
# and the rest stay.
_DROPPED_ON_304 = frozenset({b"content-length", b"content-type", b"content-encoding", b"content-language"})

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=MAX_CONDITION_LENGTH,
        pattern=IF_MATCH_PATTERN,
        description="Update only if the resource still has this ETag (from an earlier answer), else 412; "
        "`*` matches any. Optional: without it the update is unconditional.",
    ),
]

ETAG_HEADER = {
    "ETag": {
        "description": "The representation's strong entity tag: send it back in If-Match to update only that, "
        "or in If-None-Match to be answered 304 while it has not changed",
        "schema": {"type": "string"},
        "required": True,
    }
}
PRECONDITION_FAILED: dict[int | str, dict[str, Any]] = {
    412: {
        "description": "`precondition-failed`: the resource changed since the ETag in If-Match was read; "
        "read it again (its ETag is in this answer's `ETag`), then retry",
        "headers": {"ETag": {"description": "the current ETag", "schema": {"type": "string"}}},
        "content": {
            PROBLEM_JSON: {
                "example": {
                    "type": PROBLEM_BASE + "precondition-failed",
                    "title": "The resource changed since it was read",
                    "status": 412,
                    "detail": 'If-Match "q1X..." does not match the current "Zp0..."',
                }
            }
        },
    }
}


def entity_tag(representation: BaseModel | dict[str, Any]) -> str:
    """The strong ETag of a representation: what GET answers for it, hashed."""
    body = representation.model_dump(mode="json") if isinstance(representation, BaseModel) else representation
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).digest()
    return '"' + base64.urlsafe_b64encode(digest[:18]).decode() + '"'


@dataclass(frozen=True)
class Expected:
    """What an If-Match header asks for: any current representation, or one of these strong tags."""

    any: bool
    tags: frozenset[str]


def expected(if_match: str | None) -> Expected | None:
    """The parsed If-Match header (validated against IF_MATCH_PATTERN already), or None without one."""
    if if_match is None:
        return None
    if if_match.strip() == "*":
        return Expected(any=True, tags=frozenset())
    # Weak tags are kept out: the strong comparison If-Match requires never matches them.
    return Expected(any=False, tags=frozenset(t for t in _TAGS.findall(if_match) if not t.startswith("W/")))


def check(wanted: Expected | None, current: BaseModel | dict[str, Any]) -> None:
    """Nothing if the update may go on; a 412 problem (with the current ETag) if the resource has changed."""
    if wanted is None or wanted.any:
        return
    tag = entity_tag(current)
    if tag not in wanted.tags:
        sent = ", ".join(sorted(wanted.tags)) or "only weak tags"
        raise ProblemError(
            412,
            "precondition-failed",
            "The resource changed since it was read",
            f"If-Match {sent} does not match the current {tag}",
            headers={"ETag": tag},
        )


def none_match(if_none_match: str, tag: str) -> bool:
    """Whether If-None-Match fails for `tag` (RFC 9110, 13.1.2): `*`, or a tag equal to it weakly."""
    if if_none_match.strip() == "*":
        return True
    weak = tag.removeprefix("W/")
    return any(sent.removeprefix("W/") == weak for sent in _TAGS.findall(if_none_match))


class NotModifiedMiddleware:
    """A GET or HEAD answered 200 with an ETag the request's If-None-Match names becomes a bodiless 304.

    A read's If-None-Match is checked as documented (entity tags or `*`, at most 1,000 characters) before the
    route runs, as a route's own header would be: anything else is a 422 naming `header.If-None-Match`, also
    where the answer would have been a 404 or a 410 (the request was malformed whatever it asked for).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        if if_none_match is None:  # an empty one is malformed, like any value that is not entity tags
            await self.app(scope, receive, send)
            return
        if not _well_formed(if_none_match):
            await _malformed(scope, receive, send)
            return
        replaced = False  # the 200 went out as a 304 or a 422: its body stays home

        async def send_conditionally(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                tag = Headers(raw=message["headers"]).get("etag")
                if message["status"] != 200 or tag is None:
                    await send(message)
                elif none_match(if_none_match, tag):
                    replaced = True
                    headers = [(k, v) for k, v in message["headers"] if k.lower() not in _DROPPED_ON_304]
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                else:
                    await send(message)
            elif not replaced:
                await send(message)

        await self.app(scope, receive, send_conditionally)


def _well_formed(if_none_match: str) -> bool:
    return len(if_none_match) <= MAX_CONDITION_LENGTH and _CONDITION.match(if_none_match) is not None


async def _malformed(scope: Scope, receive: Receive, send: Send) -> None:
    error = FieldError(
        field="header.If-None-Match",
        message=f'entity tags (`"..."`, `W/"..."`) separated by commas, or `*`; at most {MAX_CONDITION_LENGTH:,} '
        "characters",
        type="string_pattern_mismatch",
    )
    response = problem_response(
        Request(scope),
        status=422,
        slug="validation-error",
        title="Request is invalid",
        detail=f"{error.field}: {error.message}",
        errors=[error],
    )
    await response(scope, receive, send)
