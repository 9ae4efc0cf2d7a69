"""Conditional requests on tickets, customers and agents: the rules every service shares live in
shared/web/conditional.py (a strong ETag of the representation, If-Match checked on the locked row, 412 with
the current tag, If-Match optional). docs/decisions/0005-ticket-life.md says why.
"""

from shared.web.conditional import (
    ETAG_HEADER,
    IF_MATCH_PATTERN,
    PRECONDITION_FAILED,
    Expected,
    IfMatch,
    check,
    entity_tag,
    expected,
)

__all__ = [
    "ETAG_HEADER",
    "IF_MATCH_PATTERN",
    "PRECONDITION_FAILED",
    "Expected",
    "IfMatch",
    "check",
    "entity_tag",
    "expected",
]
