"""Sessions that begin their PostgreSQL transaction at the first write, not at the first read.

Under READ COMMITTED every statement reads its own fresh snapshot, in a transaction or not, so plain reads
gain nothing from the transaction before its first write or row lock: only BEGIN and COMMIT round trips,
a third of a queued ticket's six. A session opened with `Database.session(begin_on_write=True)` runs its
plain reads without a transaction; the first statement that writes, locks rows or calls a function (which
may take a transaction-scoped lock) begins one, and what follows is an ordinary transaction. A commit whose
writes are one statement (shared/inserts.py's combined INSERT, when nothing else is pending) sends that
statement alone: a single statement is atomic by itself, so the transaction would only add round trips.

How: the asyncpg adapter starts a transaction lazily before the statement it runs unless its connection is
in autocommit; the session's connection is put in autocommit when the session begins and taken out of it
before the first statement that needs a transaction (a `before_cursor_execute` hook decides). The pool
restores every connection it gets back, so no other session ever sees one in autocommit.

SQLite is untouched: its transactions are local and cost no round trip.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session, SessionTransaction

SESSION_FLAG = "firstcall.begin_on_write"
ALONE = "firstcall_alone"  # execution option: this statement is the transaction's only write
_WAITING = "firstcall.begin_on_write.waiting"  # on the connection: no transaction begun yet
_USED = "firstcall.begin_on_write.used"  # on the connection: put in autocommit since its checkout
# SQL of a compiled SELECT that still needs a transaction: row locks, a DML statement inside it, or a
# function whose effect lasts until the transaction ends (pg_advisory_xact_lock, set_config(..., true)).
_NEEDS_TRANSACTION = (
    " FOR UPDATE",
    " FOR NO KEY UPDATE",
    " FOR SHARE",
    " FOR KEY SHARE",
    "INSERT ",
    "UPDATE ",
    "DELETE ",
    "advisory",
    "set_config",
)


def install(engine: AsyncEngine, session_class: type[Session]) -> None:
    """Wire the hooks for one database (PostgreSQL only: the caller checks)."""
    event.listen(session_class, "after_begin", _defer_begin)
    event.listen(engine.sync_engine, "before_cursor_execute", _begin_before_writing)
    event.listen(engine.sync_engine, "checkin", _restore)


def _defer_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if not session.info.get(SESSION_FLAG):
        return
    # Nothing has been sent yet: the adapter begins before its first statement, unless in autocommit.
    connection.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
    connection.info[_WAITING] = True
    connection.info[_USED] = True


def _begin_before_writing(  # noqa: PLR0917 (SQLAlchemy's event signature)
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: ExecutionContext, executemany: bool
) -> None:
    if not conn.info.get(_WAITING):
        return
    if context.execution_options.get(ALONE) or (not executemany and _plain_read(statement, context)):
        return
    # From here on an ordinary transaction: the adapter sends BEGIN before this statement.
    conn.connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]
    del conn.info[_WAITING]


def _plain_read(statement: str, context: ExecutionContext) -> bool:
    compiled = getattr(context, "compiled", None)
    if compiled is None or not isinstance(compiled.statement, Select):
        return False  # textual SQL, DML, DDL: assume it needs the transaction
    return not any(marker in statement for marker in _NEEDS_TRANSACTION)


def _restore(dbapi_connection: Any, record: Any) -> None:
    if record.info.pop(_USED, False):
        record.info.pop(_WAITING, None)
        if dbapi_connection is not None:
            dbapi_connection.autocommit = False
