"""`firstcall db current|history`: where a service's database stands among its Alembic revisions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError

from services.ops.database import open_database
from services.ops.errors import Unreachable
from shared.migrations import alembic_config


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    message: str
    head: bool
    applied: bool
    current: bool


@dataclass(frozen=True)
class MigrationState:
    service: str
    current: list[str]  # empty: the database was never migrated
    heads: list[str]
    pending: list[Revision]

    @property
    def at_head(self) -> bool:
        return not self.pending and set(self.current) == set(self.heads)


async def _current_heads(database_url: str) -> tuple[str, ...]:
    try:
        async with open_database(database_url) as database, database.engine.connect() as conn:
            return await conn.run_sync(_heads_in)
    except (OperationalError, OSError) as exc:
        raise Unreachable(f"database {_safe(database_url)} did not answer: {exc}") from exc


def _heads_in(connection: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection).get_current_heads()


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _scripts(migrations: Path, database_url: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(migrations, database_url))


def _revision(script: Script, heads: set[str], applied: set[str], current: set[str]) -> Revision:
    down = script.down_revision
    return Revision(
        revision=script.revision,
        down_revision=",".join(down) if isinstance(down, tuple | list) else down,
        message=(script.doc or "").strip(),
        head=script.revision in heads,
        applied=script.revision in applied,
        current=script.revision in current,
    )


def _applied(scripts: ScriptDirectory, current: tuple[str, ...]) -> set[str]:
    if not current:
        return set()
    return {s.revision for s in scripts.iterate_revisions(current, "base") if s is not None}


async def migration_history(*, database_url: str, migrations: Path) -> list[Revision]:
    """Every revision, newest first, each marked applied (at or below the database's) or not."""
    scripts = _scripts(migrations, database_url)
    current = await _current_heads(database_url)
    applied, heads = _applied(scripts, current), set(scripts.get_heads())
    return [_revision(s, heads, applied, set(current)) for s in scripts.walk_revisions()]


async def migration_state(*, service: str, database_url: str, migrations: Path) -> MigrationState:
    """The database's revision against the code's head, with the revisions an upgrade would apply."""
    history = await migration_history(database_url=database_url, migrations=migrations)
    current = [r.revision for r in history if r.current]
    heads = [r.revision for r in history if r.head]
    return MigrationState(service, current, heads, [r for r in history if not r.applied])
