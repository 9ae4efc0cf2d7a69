"""Erasing a person's words from every table of a service's database: the sweep behind a right to erasure.

A service erases what it knows belongs to the customer (their profile, their tickets' texts...) by id. The
same words also hide in copies nobody keys by customer: an event in the outbox, a stored idempotent
response, another profile's merge record, a problem's summary. The sweep finds those by value: every
text, JSON and binary column of every table (read from the database itself, so a table added later is
covered without anyone remembering to), searched for each value and its spellings, and rewritten with the
value replaced. It costs a scan of those columns per erasure, which is rare; docs/router.md says how much.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers
from sqlalchemy import JSON, Column, LargeBinary, MetaData, String, Table, delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.messaging.tables import idempotency_keys, outbox

log = logging.getLogger(__name__)
ERASED = "[erased]"
MIN_VALUE_LENGTH = 3  # shorter values would match inside unrelated words and erase them
# A one-word name shorter than this ("Ann", "Lee") is too common to erase from everybody else's words.
MIN_SINGLE_NAME_LENGTH = 6
SKIPPED_TABLES = frozenset({"alembic_version"})
# Fields of events (any type) that carry a person's words or identities.
PERSONAL_EVENT_FIELDS = frozenset(
    {
        "subject", "description", "attributes", "customer_name", "display_name", "identities", "identity",
        "briefing", "open_items", "recent", "resolution_note", "note", "reason", "decision_note", "text",
        "customer_email", "customer_phone", "customer_external_id", "representative_reports", "summary_text",
        "query",
    }
)  # fmt: skip
CHUNK = 500  # ids per IN list: far below every driver's limit on bound parameters
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def spellings(*, emails: Iterable[str] = (), phones: Iterable[str] = (), names: Iterable[str] = ()) -> list[str]:
    """Every form in which these values may have been stored: phones in E.164 and as people write them."""
    found: set[str] = set()
    for email in emails:
        found |= {email, email.lower()}
    for phone in phones:
        found |= _phone_spellings(phone)
    for name in (n.strip() for n in names):
        if " " in name or len(name) >= MIN_SINGLE_NAME_LENGTH:
            found.add(name)
    return sorted((v for v in found if len(v) >= MIN_VALUE_LENGTH), key=lambda v: (-len(v), v))


def _phone_spellings(phone: str) -> set[str]:
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return {phone}
    formats = (
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
    )
    written = {phonenumbers.format_number(number, f) for f in formats}
    return written | {phone, phone.lstrip("+"), str(number.national_number)}


async def blank_outbox_events(session: AsyncSession, subjects: Sequence[str]) -> int:
    """Blank the personal fields of the outbox's events about these aggregates, published or not.

    Rows are rewritten, not deleted: a pending event still leaves (without the words), and the outbox's
    numbering, which desktop streams follow, does not move.
    """
    changed = 0
    for start in range(0, len(subjects), CHUNK):
        chunk = subjects[start : start + CHUNK]
        rows = (await session.execute(select(outbox.c.seq, outbox.c.envelope).where(outbox.c.subject.in_(chunk)))).all()
        for seq, envelope in rows:
            await session.execute(
                update(outbox).where(outbox.c.seq == seq).values(envelope=blank_personal_fields(envelope))
            )
        changed += len(rows)
    return changed


def blank_personal_fields(envelope: bytes) -> bytes:
    """A structured CloudEvent with its data's personal fields blanked, the rest (ids, amounts) kept."""
    document = json.loads(envelope)
    data = document.get("data")
    if isinstance(data, dict):
        document["data"] = {
            key: _blank(value) if key in PERSONAL_EVENT_FIELDS else value for key, value in data.items()
        }
    return json.dumps(document, separators=(",", ":")).encode()


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        return ERASED
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    return value


async def forget_answers_naming(session: AsyncSession, ids: Sequence[str]) -> int:
    """Forget stored idempotent answers that name any of these ids (the customer, their tickets): the
    answer is a copy of what was written. A retry with the same key then writes afresh."""
    wanted = set(ids)
    # Records live a day (IDEMPOTENCY_RETENTION): one pass over them, reading the ids each answer names.
    stored = await session.execute(
        select(idempotency_keys.c.scope, idempotency_keys.c.key, idempotency_keys.c.response)
    )
    doomed = [(scope, key) for scope, key, answer in stored if wanted & set(_UUID.findall(bytes(answer).decode()))]
    for scope, key in doomed:
        await session.execute(
            delete(idempotency_keys).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        )
    return len(doomed)


async def sweep(session: AsyncSession, values: Sequence[str]) -> dict[str, int]:
    """Replace every occurrence of `values` in every table by ERASED; returns values rewritten per table
    (a row counts once per column that held one)."""
    if not values:
        return {}
    connection = await session.connection()
    return await connection.run_sync(_sweep_tables, list(values))


def _sweep_tables(connection: Connection, values: list[str]) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(bind=connection)
    changed: dict[str, int] = {}
    for table in metadata.sorted_tables:
        if table.name in SKIPPED_TABLES or not table.primary_key.columns:
            continue
        rows = sum(_sweep_column(connection, table, column, values) for column in _searchable(table))
        if rows:
            changed[table.name] = rows
    return changed


def _searchable(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, String | JSON | LargeBinary) and not c.primary_key]


def _sweep_column(connection: Connection, table: Table, column: Column[Any], values: list[str]) -> int:
    keys = list(table.primary_key.columns)
    found = _contains_any(column, values, dialect=connection.dialect.name)
    rows = connection.execute(select(*keys, column).where(found)).all()
    changed = 0
    for row in rows:
        *key, stored = row
        redacted = _redacted(stored, values, where=f"{table.name}.{column.name}")
        if redacted != stored:
            where = [k == v for k, v in zip(keys, key, strict=True)]
            connection.execute(update(table).where(*where).values({column.name: redacted}))
            changed += 1
    return changed


def _contains_any(column: Column[Any], values: list[str], *, dialect: str) -> ColumnElement[bool]:
    if isinstance(column.type, LargeBinary):
        needles = {needle for value in values for needle in (value, _json_escaped(value))}
        if dialect == "sqlite":
            return or_(*(func.instr(column, needle.encode()) > 0 for needle in needles))
        # PostgreSQL: bytea as text (`escape` doubles each backslash, so the needles do too).
        shown = func.encode(column, "escape")
        return or_(*(func.strpos(shown, needle.replace("\\", "\\\\")) > 0 for needle in needles))
    text = func.lower(column.cast(String)) if isinstance(column.type, JSON) else func.lower(column)
    needles = {needle.lower() for value in values for needle in (value, _json_escaped(value))}
    return or_(*(text.contains(needle, autoescape=True) for needle in needles))


def _json_escaped(value: str) -> str:
    return json.dumps(value)[1:-1]


def _redacted(stored: Any, values: list[str], *, where: str) -> Any:
    if isinstance(stored, bytes | memoryview):
        raw = bytes(stored)
        try:
            document = json.loads(raw)
        except ValueError:
            # A blob that is not JSON (a model, a vector) has a format a byte edit would break: say so instead.
            log.warning("%s: a personal value inside a binary value that is not JSON, left for its owner", where)
            return raw
        redacted = _redacted_json(document, values)
        return raw if redacted == document else json.dumps(redacted, separators=(",", ":")).encode()
    if isinstance(stored, str):
        return _redacted_text(stored, values)
    return _redacted_json(stored, values)


def _redacted_json(node: Any, values: list[str]) -> Any:
    if isinstance(node, str):
        return _redacted_text(node, values)
    if isinstance(node, list):
        return [_redacted_json(item, values) for item in node]
    if isinstance(node, dict):
        return {_redacted_text(k, values): _redacted_json(v, values) for k, v in node.items()}
    return node


def _redacted_text(text: str, values: list[str]) -> str:
    """Whole occurrences only: `ada@example.com` is not erased out of `mada@example.com`, nor `Ann` out of
    `Annual`."""
    for value in values:
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", ERASED, text, flags=re.IGNORECASE)
    return text
