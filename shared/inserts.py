"""New rows written with Core INSERTs instead of the unit of work, and as few round trips as possible.

A hot path that builds rows only to write them once pays more for the ORM's flush than for the rows, and
more for each round trip than for what it carries. So rows can be written now (`insert_new`), or staged and
written at commit (`stage_new`, `stage_rows`) with the transaction's events and idempotency record. Rows of
one table go in one executemany; on PostgreSQL the rows of several tables leave in one statement (an INSERT
with data-modifying CTEs), the events of a ticket with the ticket.

Staged rows are written at commit before the ORM flushes what it still holds: an ORM object may refer to a
staged row, but a staged row must not refer to an ORM object not yet flushed, and nothing may read staged
rows before commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Any

from sqlalchemy import CTE, Executable, Insert, Table, bindparam, event, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session

from shared import lazy_begin

Row = dict[str, Any]
MAX_COMBINED_PARTS = 10
MAX_PART_ROWS = 16  # more rows of one table than this go in an executemany of their own
_STAGED = "firstcall.inserts.staged"


async def insert_new(session: AsyncSession, *objects: object) -> None:
    """INSERT new mapped objects now, in order; they stay transient (later changes are not written).

    Only attributes that were set are sent, so column defaults apply to the rest.
    """
    statements = _statements(session.sync_session, [_row_of(obj) for obj in objects])
    for statement, parameters in statements:
        await session.execute(statement, parameters)


def stage_new(session: AsyncSession, *objects: object) -> None:
    """INSERT new mapped objects at commit (see the module's caveat); they stay transient."""
    stage_rows(session, [_row_of(obj) for obj in objects])


def stage_rows(session: AsyncSession, rows: Iterable[tuple[Table, Row]]) -> None:
    """INSERT (table, values) rows at commit, after the rows staged before them."""
    _ensure_commit_hooks(type(session.sync_session))
    session.info.setdefault(_STAGED, []).extend(rows)


def staged(session: AsyncSession, table: Table, **values: Any) -> bool:
    """Whether a row of `table` with these values waits to be written at this session's commit: a row the
    request itself creates, which nothing stored can conflict with yet."""
    rows: list[tuple[Table, Row]] = session.info.get(_STAGED, [])
    return any(
        staged_table is table and all(row.get(key) == value for key, value in values.items())
        for staged_table, row in rows
    )


def write_staged(session: Session) -> None:
    """At commit: every staged row, in as few statements as the database allows."""
    rows = session.info.pop(_STAGED, None)
    if rows:
        statements = _statements(session, rows)
        # The transaction's only write, if nothing else is pending: a session that has not begun its
        # transaction yet (shared/lazy_begin.py) sends it alone, atomic by itself. This hook is the last
        # code to run before the commit's flush: a later hook writing more would break that (none does).
        alone = len(statements) == 1 and not (session.new or session.dirty or session.deleted)
        options = {lazy_begin.ALONE: True} if alone else {}
        for statement, parameters in statements:
            session.execute(statement, parameters, execution_options=options)


def forget_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)


def _ensure_commit_hooks(session_class: type[Session]) -> None:
    """Whoever stages rows gets the hooks that write them: no staged row can be silently dropped."""
    if session_class.__dict__.get("_firstcall_insert_hooks"):
        return
    event.listen(session_class, "before_commit", write_staged)
    event.listen(session_class, "after_rollback", forget_staged)
    session_class._firstcall_insert_hooks = True  # type: ignore[attr-defined]


def _statements(session: Session, rows: Sequence[tuple[Table, Row]]) -> list[tuple[Executable, Any]]:
    """(statement, parameters) to run in order: one INSERT per run of rows of one shape, except that on
    PostgreSQL the runs leave together in one combined statement."""
    # Each table's rows together, tables in the order they first appear (parents are staged before their
    # children): a table's rows keep their order in one run, and fewer runs make fewer statements.
    first: dict[Table, int] = {}
    for table, _ in rows:
        first.setdefault(table, len(first))
    ordered = sorted(rows, key=lambda row: first[row[0]])
    runs = [
        (table, [values for _, values in run])
        for (table, _), run in groupby(ordered, key=lambda row: (row[0], tuple(row[1])))
    ]
    if session.get_bind().dialect.name != "postgresql":
        return [(_insert(table), values) for table, values in runs]
    statements: list[tuple[Executable, Any]] = []
    parts: list[tuple[Table, list[Row]]] = []
    for table, values in runs:
        if len(values) > MAX_PART_ROWS:  # a bulk write: an executemany of its own
            statements += _combine(parts)
            statements.append((_insert(table), values))
            parts = []
            continue
        if len(parts) == MAX_COMBINED_PARTS:
            statements += _combine(parts)
            parts = []
        parts.append((table, values))
    return statements + _combine(parts)


def _combine(parts: Sequence[tuple[Table, list[Row]]]) -> list[tuple[Executable, Any]]:
    if len(parts) <= 1:
        return [(_insert(table), values if len(values) > 1 else values[0]) for table, values in parts]
    shape = tuple((table, tuple(values[0]), len(values)) for table, values in parts)
    parameters = {
        f"p{n}_{r}_{key}": value
        for n, (_, values) in enumerate(parts)
        for r, row in enumerate(values)
        for key, value in row.items()
    }
    return [(_combined(shape), parameters)]


_COMBINED: dict[tuple[tuple[Table, tuple[str, ...], int], ...], Insert] = {}
_INSERTS: dict[Table, Insert] = {}
_COLUMNS: dict[Mapper[Any], tuple[tuple[str, str], ...]] = {}


def _combined(shape: tuple[tuple[Table, tuple[str, ...], int], ...]) -> Insert:
    """`WITH w0 AS (INSERT ...), w1 AS (INSERT ...) INSERT ...`, one row per part, built once per shape.

    PostgreSQL checks foreign keys at the end of the statement, so a row may refer to one written beside it.
    Parts run in no guaranteed order, except that a part reading another runs after it: so each further row
    of a table is inserted by a SELECT from its predecessor's RETURNING, which keeps a table's rows in the
    order they were staged (the outbox's sequence is the publication order). Single-row VALUES and SELECTs
    of bound parameters keep the statement cacheable (a multi-row VALUES is compiled again at every call).
    """
    if (statement := _COMBINED.get(shape)) is not None:
        return statement
    ctes: list[CTE] = []
    final: Insert | None = None  # the part written last: the statement itself, the others its CTEs
    for n, (table, keys, count) in enumerate(shape):
        previous: CTE | None = None
        for r in range(count):
            if final is not None:
                ctes.append(final.cte(f"w{len(ctes)}"))
            values = {key: bindparam(f"p{n}_{r}_{key}", type_=table.c[key].type) for key in keys}
            if previous is None:
                final = insert(table).values(values)
            else:
                final = insert(table).from_select(list(keys), select(*values.values()).select_from(previous))
            if r < count - 1:
                previous = final.returning(*table.primary_key.columns).cte(f"w{len(ctes)}")
                ctes.append(previous)
                final = None
    if final is None:
        raise ValueError("no rows to insert")
    statement = final.add_cte(*ctes)
    if len(_COMBINED) < 200:  # bounded: an unusual mix of rows is built again rather than kept
        _COMBINED[shape] = statement
    return statement


def _insert(table: Table) -> Insert:
    # One statement object per table: its compiled form is then found in the cache without rebuilding it.
    if (statement := _INSERTS.get(table)) is None:
        statement = _INSERTS[table] = insert(table)
    return statement


def _row_of(obj: object) -> tuple[Table, Row]:
    state = inspect(obj)
    table: Table = state.mapper.local_table
    return table, {column: state.dict[key] for key, column in _columns(state.mapper) if key in state.dict}


def _columns(mapper: Mapper[Any]) -> tuple[tuple[str, str], ...]:
    """(attribute, column) names of a mapped class, worked out once per class."""
    if (pairs := _COLUMNS.get(mapper)) is None:
        pairs = _COLUMNS[mapper] = tuple((prop.key, prop.columns[0].key) for prop in mapper.column_attrs)
    return pairs
