"""Parsing what ops type: times (`--since 15m` or ISO 8601) and bounded integers."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`15m`, `2h`, `3d` ago, or an ISO 8601 time (UTC when it names no zone)."""
    now = now or datetime.now(UTC)
    if match := _RELATIVE.match(text.strip()):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 15m/2h/3d nor an ISO 8601 time") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def since(text: str) -> datetime:
    return parse_since(text)


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An integer argument within [low, high]: every accepted number has a bound."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from exc
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    parse.__name__ = f"integer {low}..{high}"
    return parse


def bounded_text(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not 0 < len(text) <= limit:
            raise argparse.ArgumentTypeError(f"between 1 and {limit} characters")
        return text

    parse.__name__ = f"text of up to {limit} characters"
    return parse
