"""Async database access for PostgreSQL (asyncpg) and SQLite (aiosqlite) behind one small class.

Each service owns one database; nothing here knows which. `Database.session()` gives a session whose
commit wakes the outbox relay, so events leave as soon as the transaction that produced them is durable.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import BigInteger, ColumnElement, DateTime, Dialect, Table, any_, bindparam, event, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.types import TypeDecorator, TypeEngine

from shared import lazy_begin

# SQLSTATEs of a server that is going away, coming back or full: connection exceptions (class 08), admin and
# crash shutdown, "the database system is starting up", too many connections.
_SERVER_AWAY = ("57P01", "57P02", "57P03", "53300")
_NETWORK_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.ETIMEDOUT})


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached (down, restarting, cut off, locked by another
    process), as opposed to a statement it refused or a bug: a reason to wait and retry, never the data's fault.

    Connection failures surface raw from the driver's connect (ConnectionRefusedError, TimeoutError), and
    wrapped by SQLAlchemy or asyncpg once a connection existed; causes are followed only through database
    errors, so an HTTP client's connection error inside a handler is not taken for the database's.
    """
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return not isinstance(exc, socket.gaierror) or exc.errno == socket.EAI_AGAIN
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    return any(_names_an_outage(error) for error in _database_errors(exc))


def _database_errors(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and its causes, as long as they are the database stack's own errors."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if not isinstance(current, SQLAlchemyError | asyncpg.PostgresError | asyncpg.InterfaceError) and not (
            type(current).__module__.startswith("sqlalchemy.dialects")
        ):
            return
        wrapped = current.orig if isinstance(current, DBAPIError) else None
        current = wrapped if isinstance(wrapped, BaseException) else (current.__cause__ or current.__context__)


def _names_an_outage(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError):
        return True
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        return state.startswith("08") or state in _SERVER_AWAY
    if isinstance(error, asyncpg.InterfaceError):
        # asyncpg's own check on a connection the server closed, as in SQLAlchemy's is_disconnect.
        return "connection is closed" in str(error)
    if isinstance(error, asyncpg.InternalClientError):
        # A statement sent after the server's goodbye (an unsolicited FATAL: shutdown, termination) was read
        # but before the connection's end was: the protocol still waits for the end of that error (state 2),
        # or has given the connection up. Two tasks on one connection (a bug) name another state.
        return "another operation (2) is in progress" in str(error) or '"failed" state' in str(error)
    if isinstance(error, sqlite3.OperationalError):
        # Another process holds the write lock beyond busy_timeout (a migration, a shell): not this event's fault.
        return "database is locked" in str(error)
    return isinstance(error, ConnectionError | TimeoutError)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An exact amount with two decimals, stored as integer minor units (cents) on every backend.

    SQLite has no exact decimal type; integers are exact everywhere and SUM() over them stays exact.
    """

    impl = BigInteger()
    cache_ok = True
    _CENT = Decimal("0.01")

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        cents = Decimal(value) / self._CENT
        if cents != cents.to_integral_value():
            raise ValueError(f"{value} has more than two decimals")
        return int(cents)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(int(value)) * self._CENT).quantize(self._CENT)


class Database:
    """One service's engine, its session factory, and the hooks run after each commit."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 20) -> None:
        self.url = make_url(url)
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **_engine_options(url, pool_size))
        if self.is_sqlite:
            _configure_sqlite(self.engine)

        hooks: list[Callable[[Session], None]] = []
        self._after_commit = hooks

        class ServiceSession(Session):
            """A session class of this database alone, so its commit hooks stay its own."""

        @event.listens_for(ServiceSession, "after_commit")
        def _run_hooks(session: Session) -> None:
            for hook in hooks:
                hook(session)

        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=ServiceSession)
        if not self.is_sqlite:
            lazy_begin.install(self.engine, ServiceSession)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self, *, begin_on_write: bool = False) -> AsyncSession:
        """A new session; use it as `async with db.session() as session:` and commit explicitly.

        `begin_on_write`: its plain reads run before the transaction begins (shared/lazy_begin.py), for hot
        paths that read a lot and then write once. Reads then never see the session's own staged rows.
        """
        session = self.sessions()
        if begin_on_write:
            session.info[lazy_begin.SESSION_FLAG] = True
        return session

    def on_commit(self, hook: Callable[[Session], None]) -> None:
        """Run `hook(session)` after every committed transaction (it must be cheap and must not raise)."""
        self._after_commit.append(hook)

    async def ping(self, timeout: float = 2.0) -> bool:
        """Whether the database answers a trivial query in time (for /readyz)."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (agents' skills and capacity, routing candidates, event payloads) through orjson: the
# standard library's json was a sixteenth of the router's CPU on the ticket-open path.
_JSON = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def _engine_options(url: str, pool_size: int) -> dict[str, Any]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # One connection per SQLite database: SQLite has a single writer anyway, and a lone connection
        # never meets SQLITE_BUSY when a read transaction tries to upgrade to a write.
        return {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30, **_JSON}
    # No pre-ping: it costs a round trip on every checkout (a sixth of the hot path's database time). A
    # connection the server dropped fails one transaction, which the client's retry (same Idempotency-Key)
    # repeats safely. No overflow: connections opened and closed under load lose their statement cache.
    return {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": 30, "pool_recycle": 1800, **_JSON}


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


async def insert_ignoring_duplicates(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """INSERT unless the primary key exists; True if this call inserted the row.

    Under concurrency on PostgreSQL the second writer waits for the first to commit and then inserts
    nothing, which is what makes inbox claims and idempotency keys race-free.
    """
    result = await session.execute(_insert_ignoring_conflicts(session, table).values(**values))
    return bool(getattr(result, "rowcount", 0) == 1)


async def insert_many_ignoring_duplicates(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> set[Any]:
    """INSERT the rows that conflict with no existing one, a few statements for any number of rows
    (SQLAlchemy pages an executemany with RETURNING into multi-row INSERTs); the `key` of those inserted."""
    if not rows:
        return set()
    statement = _insert_ignoring_conflicts(session, table).returning(table.c[key])
    result = await session.execute(statement, list(rows))
    return set(result.scalars())


def _insert_ignoring_conflicts(session: AsyncSession, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the session's dialect (both spell it alike, from different modules)."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return (sqlite_insert if dialect == "sqlite" else pg_insert)(table).on_conflict_do_nothing()


def one_of(
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[Any],
    element: TypeEngine[Any],
    *,
    sqlite: bool,
) -> ColumnElement[bool]:
    """`column IN (values)` as one statement whatever the number of values: `= ANY(array)` on PostgreSQL.

    SQLAlchemy renders an IN list as one parameter per value, so every new length is a new statement that
    asyncpg prepares first (one more round trip, and a plan) before running it. SQLite has no arrays."""
    if sqlite:
        return column.in_(values)
    return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(element)))


async def driver_fetch(session: AsyncSession, statement: str, *arguments: Any) -> Sequence[Sequence[Any]]:
    """The rows of a PostgreSQL statement ($1, $2, ... parameters) run by asyncpg on the session's connection.

    For the few hot reads that return hundreds of rows: SQLAlchemy's per-row processing (a Row, a type
    processor per column) cost as much as PostgreSQL's own work there (the notifier's candidate reads,
    bench/notifier_scale.py). asyncpg still prepares each statement once per connection. The statement runs
    in the session's transaction when an earlier statement of the session has begun it, else on its own:
    only reads belong here. Rows are asyncpg records: indexable and unpackable like tuples, UUIDs as a
    subclass of uuid.UUID."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    rows: Sequence[Sequence[Any]] = await raw.driver_connection.fetch(statement, *arguments)  # type: ignore[union-attr]
    return rows
