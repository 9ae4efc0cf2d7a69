"""Keyset cursors (shared/web/pagination.py): what a client hands back is read as its columns' types, and
anything else, however crafted, is a 422 naming `query.cursor`, never a query that fails in the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Uuid

from shared.db import UtcDateTime
from shared.errors import ProblemError
from shared.web.pagination import Keyset, decode_time_cursor, encode_cursor

rows = Table(
    "rows",
    MetaData(),
    Column("at", UtcDateTime()),
    Column("name", String(100)),
    Column("rank", Integer),
    Column("seq", BigInteger),
    Column("id", Uuid),
)
ORDER = Keyset("rows", tuple((column, False) for column in rows.c))
ID = str(uuid.uuid4())


def test_a_cursor_written_by_the_keyset_is_read_back_as_its_columns_types() -> None:
    class Row:
        at, name, rank, seq, id = datetime(2026, 12, 7, 9, tzinfo=UTC), "Grace", 3, 2**40, uuid.UUID(ID)

    clause = ORDER.after(ORDER.cursor_after(Row()))
    values = [c.value for c in clause.right.clauses]
    assert values == [Row.at, "Grace", 3, 2**40, uuid.UUID(ID)]


@pytest.mark.parametrize(
    "position",
    [
        ["rows", "0001-01-01T00:00:00+05:00", "a", 1, 1, ID],  # before the first moment Python holds in UTC
        ["rows", "2026-12-07T09:00:00", "a", 1, 1, ID],  # no zone
        ["rows", "2026-12-07T09:00:00Z", "a\x00b", 1, 1, ID],  # a NUL, which PostgreSQL's text cannot hold
        ["rows", "2026-12-07T09:00:00Z", "a", 2**31, 1, ID],  # beyond a 32-bit column
        ["rows", "2026-12-07T09:00:00Z", "a", 1, 2**63, ID],  # beyond a 64-bit column
        ["rows", "2026-12-07T09:00:00Z", "a", True, 1, ID],  # a boolean is not an integer
        ["rows", "2026-12-07T09:00:00Z", "a", 1, 1, "not-a-uuid"],
        ["rows", "2026-12-07T09:00:00Z", 7, 1, 1, ID],  # a number where a name goes
        ["rows", "2026-12-07T09:00:00Z", "a", 1, 1],  # one value short
        ["tickets", "2026-12-07T09:00:00Z", "a", 1, 1, ID],  # another list's cursor
    ],
)
def test_a_crafted_cursor_is_a_422_naming_it(position: list[Any]) -> None:
    with pytest.raises(ProblemError) as refused:
        ORDER.after(encode_cursor(*position))
    assert refused.value.status == 422
    assert [e.field for e in refused.value.errors] == ["query.cursor"]


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+05:00", "2026-12-07T09:00:00", "not a time"])
def test_a_time_cursor_no_utc_column_can_hold_is_a_422_naming_it(at: str) -> None:
    with pytest.raises(ProblemError) as refused:
        decode_time_cursor(encode_cursor(at, ID))
    assert refused.value.status == 422
    assert [e.field for e in refused.value.errors] == ["query.cursor"]


def test_a_time_cursor_is_read_back_in_utc() -> None:
    at, key = decode_time_cursor(encode_cursor("2026-12-07T10:00:00+01:00", ID))
    assert (at, at.utcoffset(), key) == (datetime(2026, 12, 7, 9, tzinfo=UTC), timedelta(0), uuid.UUID(ID))
