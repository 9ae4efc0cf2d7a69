"""Output for people (aligned columns, short ages) and for scripts (JSON), one place for both."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import orjson

EMPTY = "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows as columns padded to their widest cell; numbers right-aligned, everything else left."""
    cells = [[cell_text(value) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(headers)), *(line(row) for row in cells)])


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def cell_text(value: object) -> str:
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def short(text: str, width: int) -> str:
    """One line of at most `width` characters (an ellipsis says something was cut)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def timestamp(value: datetime) -> str:
    """UTC, to the millisecond, with a Z: sortable and unambiguous."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def age(seconds: float | None) -> str:
    """A duration as people say it: 42s, 3m12s, 5h02m, 2d03h."""
    if seconds is None:
        return EMPTY
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def plain(value: Any) -> Any:
    """Dataclasses and mappings as JSON-ready values (times as ISO 8601 strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def json_text(value: Any, *, indent: bool = True) -> str:
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(plain(value), option=option | orjson.OPT_NON_STR_KEYS).decode()


def emit(text: str, out: IO[str] | None = None) -> None:
    """One block of output, flushed at once so that a pipe (`| head`, `| jq`) sees it without delay."""
    stream = out or sys.stdout
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()
