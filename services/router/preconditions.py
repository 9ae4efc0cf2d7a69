"""Conditional requests (RFC 9110, section 13): an ETag on every answer that is a ticket, a customer or an
agent, and If-Match on their updates, so two writers cannot overwrite each other without knowing.

The entity tag is strong: a hash of the JSON representation (keys sorted), so it changes whenever anything a
GET shows changes, whichever path changed it (an API call, a consumer's bulk update, a computed field such as
an agent's load), and needs no column to keep. If-Match uses the strong comparison the RFC requires, so a
weak tag (`W/"..."`) never matches. The check runs on the row the update has locked, so of two writers that
read the same tag, the second to lock sees the first's change and gets 412. If-Match stays optional (no 428):
clients that send none update unconditionally, as before. docs/decisions/0005-ticket-life.md says why.
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

from shared.errors import PROBLEM_BASE, PROBLEM_JSON, ProblemError

_OPAQUE = r'"[\x21\x23-\x7e]*"'
_TAG = rf"(?:W/)?{_OPAQUE}"
IF_MATCH_PATTERN = rf"^\s*(?:\*|{_TAG}(?:\s*,\s*{_TAG})*)\s*$"
_TAGS = re.compile(_TAG)

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1_000,
        pattern=IF_MATCH_PATTERN,
        description="Update only if the resource still has this ETag (from an earlier answer), else 412; "
        "`*` matches any. Optional: without it the update is unconditional.",
    ),
]

ETAG_HEADER = {
    "ETag": {
        "description": "The representation's strong entity tag: send it back in If-Match to update only that",
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


def check(wanted: Expected | None, current: BaseModel) -> None:
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
