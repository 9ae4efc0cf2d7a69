"""Schemathesis hooks for the fuzz run (loaded by the CLI through SCHEMATHESIS_HOOKS).

Bodies of JSON lines (the knowledge import) are documented as the array their lines make
(shared/web/openapi.py, `ndjson_body`); this writes such an array one item per line, as clients send it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import schemathesis


@schemathesis.serializer("application/x-ndjson")
def json_lines(_: schemathesis.SerializationContext, value: Any) -> bytes:
    items = value if isinstance(value, list) else [value]  # negative cases may be any JSON value
    return b"".join(_line(item) + b"\n" for item in items)


def _line(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except TypeError:  # an integer beyond 64 bits, as negative cases carry: the standard library writes any
        return json.dumps(item).encode()
