"""What people read: aligned columns, short ages, times in UTC; and what scripts read: plain JSON."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.ops import render
from services.ops.arguments import bounded, parse_since


def test_a_table_pads_columns_and_aligns_numbers_right() -> None:
    text = render.table(("group", "lag"), [("knowledge", 3), ("notifier", 120), ("router", None)])
    assert text.splitlines() == ["group      lag", "knowledge    3", "notifier   120", "router       -"]


@pytest.mark.parametrize(
    ("seconds", "said"), [(None, "-"), (0.4, "0s"), (42, "42s"), (192, "3m12s"), (18_120, "5h02m"), (183_600, "2d03h")]
)
def test_ages_read_as_people_say_them(seconds: float | None, said: str) -> None:
    assert render.age(seconds) == said


def test_times_are_utc_to_the_millisecond_with_a_z() -> None:
    moment = datetime(2026, 12, 7, 16, 20, 1, 123456, tzinfo=UTC) + timedelta(0)
    assert render.timestamp(moment.astimezone()) == "2026-12-07T16:20:01.123Z"


def test_json_turns_dataclasses_times_and_bytes_into_plain_values() -> None:
    @dataclass
    class Row:
        at: datetime
        raw: bytes
        items: tuple[int, ...]

    text = render.json_text(Row(datetime(2026, 1, 2, tzinfo=UTC), b"k", (1, 2)), indent=False)
    assert orjson.loads(text) == {"at": "2026-01-02T00:00:00.000Z", "raw": "k", "items": [1, 2]}


def test_since_takes_relative_durations_and_iso_times() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert parse_since("15m", now) == now - timedelta(minutes=15)
    assert parse_since("3d", now) == now - timedelta(days=3)
    assert parse_since("2026-12-07T10:00:00Z", now) == datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert parse_since("2026-12-07T10:00:00", now) == datetime(2026, 12, 7, 10, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError, match="neither"):
        parse_since("yesterday", now)


def test_integers_outside_their_bound_are_refused() -> None:
    limit = bounded(1, 10)
    assert limit("10") == 10
    with pytest.raises(argparse.ArgumentTypeError, match="between 1 and 10"):
        limit("11")
    with pytest.raises(argparse.ArgumentTypeError, match="not an integer"):
        limit("ten")
