"""shared/db.py's statement helpers."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, Table, create_engine, select

from shared.db import one_of

ROWS = Table("rows", MetaData(), Column("id", BigInteger, primary_key=True))


def test_one_of_is_one_statement_for_any_number_of_values_on_postgresql() -> None:
    def sql(values: list[int], *, on_sqlite: bool) -> str:
        statement = select(ROWS.c.id).where(one_of(ROWS.c.id, values, BigInteger(), sqlite=on_sqlite))
        dialect = create_engine("sqlite://" if on_sqlite else "postgresql+asyncpg://", module=None).dialect
        return str(statement.compile(dialect=dialect))

    assert sql([1, 2], on_sqlite=False) == sql(list(range(50)), on_sqlite=False)  # prepared once, reused
    assert "= ANY (" in sql([1, 2], on_sqlite=False)
    assert "IN (" in sql([1, 2], on_sqlite=True)  # no arrays in SQLite
