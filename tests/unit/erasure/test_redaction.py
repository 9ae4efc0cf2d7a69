"""The sweep by value: every spelling of the values found in text, JSON and binary columns, nothing else touched."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import JSON, Column, Integer, LargeBinary, MetaData, String, Table, insert, select

from shared.db import Database
from shared.messaging.tables import idempotency_keys, outbox
from shared.redaction import ERASED, blank_personal_fields, spellings, sweep

NOW = datetime.now(UTC)
notes = Table(
    "notes",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("body", String(500)),
    Column("extra", JSON),
)


def envelope(data: dict[str, object]) -> bytes:
    return json.dumps({"id": "e1", "type": "firstcall.ticket.opened", "data": data}).encode()


def test_a_phone_is_looked_for_as_stored_and_as_people_write_it() -> None:
    found = spellings(emails=["Ada@Example.com"], phones=["+442079460958"], names=["Ada Lovelace"])
    for spelling in ("+442079460958", "+44 20 7946 0958", "020 7946 0958", "2079460958", "ada@example.com"):
        assert spelling in found
    assert "Ada Lovelace" in found
    assert set(spellings(names=["Ann", "Lee Ray", "Augusta"])) == {"Augusta", "Lee Ray"}, "one short word is too common"


async def test_the_sweep_rewrites_every_copy_and_leaves_other_rows_alone(messaging_db: Database) -> None:
    async with messaging_db.engine.begin() as connection:
        await connection.run_sync(notes.metadata.create_all)
        await connection.execute(
            insert(notes),
            [
                {"id": 1, "body": "Spoke with ADA LOVELACE on 020 7946 0958", "extra": {"to": ["ada@example.com"]}},
                {"id": 2, "body": "Spoke with Grace Hopper", "extra": {"to": ["grace@example.com"]}},
                {"id": 3, "body": "Wrote to mada@example.com.au", "extra": {"to": ["Ada Lovelaces"]}},
            ],
        )
        await connection.execute(
            insert(outbox),
            [
                {
                    "event_id": "e1",
                    "topic": "firstcall.tickets",
                    "event_type": "firstcall.ticket.opened",
                    "subject": "t1",
                    "envelope": envelope({"customer_name": "Ada Lovelace", "ticket_id": "t1"}),
                    "created_at": NOW,
                    "attempts": 0,
                }
            ],
        )
        await connection.execute(
            insert(idempotency_keys),
            [
                {
                    "scope": "k",
                    "key": "1",
                    "fingerprint": "f",
                    "status_code": 201,
                    "response": b'{"phone":"+442079460958"}',
                    "created_at": NOW,
                }
            ],
        )
    values = spellings(emails=["ada@example.com"], phones=["+442079460958"], names=["Ada Lovelace"])
    async with messaging_db.session() as session:
        changed = await sweep(session, values)
        await session.commit()

    assert changed == {"notes": 2, "outbox": 1, "idempotency_keys": 1}  # values rewritten: note 1's body and extra
    async with messaging_db.engine.connect() as connection:
        rows = {row.id: row for row in await connection.execute(select(notes))}
        event = json.loads((await connection.execute(select(outbox.c.envelope))).scalar_one())
        answer = json.loads((await connection.execute(select(idempotency_keys.c.response))).scalar_one())
    assert rows[1].body == f"Spoke with {ERASED} on {ERASED}"
    assert rows[1].extra == {"to": [ERASED]}
    assert (rows[2].body, rows[2].extra) == ("Spoke with Grace Hopper", {"to": ["grace@example.com"]})
    assert (rows[3].body, rows[3].extra) == ("Wrote to mada@example.com.au", {"to": ["Ada Lovelaces"]}), (
        "whole values only"
    )
    assert event["data"] == {"customer_name": ERASED, "ticket_id": "t1"}
    assert answer == {"phone": ERASED}


def test_an_outbox_event_loses_its_personal_fields_and_keeps_its_ids_and_amounts() -> None:
    blanked = json.loads(
        blank_personal_fields(
            envelope({"ticket_id": "t1", "subject": "Card", "identities": [{"kind": "email"}], "amount": "20.00"})
        )
    )
    assert blanked["data"] == {"ticket_id": "t1", "subject": ERASED, "identities": [], "amount": "20.00"}


async def test_a_binary_value_that_is_not_json_is_never_edited_but_named(
    messaging_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    blobs = Table("blobs", MetaData(), Column("id", Integer, primary_key=True), Column("blob", LargeBinary))
    model = b"PK\x03\x04 vocabulary: ada@example.com \xff\x00"
    async with messaging_db.engine.begin() as connection:
        await connection.run_sync(blobs.metadata.create_all)
        await connection.execute(insert(blobs), [{"id": 1, "blob": model}])
    async with messaging_db.session() as session:
        assert await sweep(session, ["ada@example.com"]) == {}
        await session.commit()
    async with messaging_db.engine.connect() as connection:
        assert (await connection.execute(select(blobs.c.blob))).scalar_one() == model
    assert "blobs.blob" in caplog.text
