"""Dead letters read from the headers the bus writes, chosen by filters, and replayed only once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import jsonschema_rs
import orjson
import pytest

from services.ops.dead_letters import DeadLetter, LetterFilter, Origin, Replayed, find, groups_named, parse_letter
from services.ops.errors import NotFound, UsageError
from services.ops.replay import Mark, by_origin, plan, with_marks
from shared.events.asyncapi import REPLAY_MARK
from tests.unit.ops.records import dead_letter_of, event_record, opened


async def letter(error: str = "no such article", **fields: object) -> DeadLetter:
    record = event_record(opened("call-9"), partition=4, offset=12)
    return parse_letter("knowledge", await dead_letter_of(record, error=error))


async def test_a_letter_says_what_failed_why_how_often_and_from_where() -> None:
    found = await letter("no such article")
    assert found.id == "knowledge/0/7"
    assert found.origin == Origin("firstcall.tickets", 4, 12)
    assert found.attempts == 1
    assert found.reason == "shared.bus.port.PoisonEvent: no such article"
    assert (found.event.type, found.event.correlation_id) == ("firstcall.ticket.opened", "call-9")
    assert found.replayed is None


async def test_a_replay_sends_the_original_headers_without_the_dead_letter_ones() -> None:
    found = await letter()
    names = [name for name, _ in found.headers]
    assert "ce_type" in names
    assert "ce_id" in names
    assert not [name for name in names if name.startswith("firstcall_dlt_")]


def test_an_origin_keeps_the_dots_of_a_prefixed_topic_name() -> None:
    assert Origin.parse("t1.firstcall.tickets/5/900") == Origin("t1.firstcall.tickets", 5, 900)
    assert Origin.parse("garbage") is None


async def test_filters_choose_letters_by_id_group_type_origin_and_error() -> None:
    found = await letter("Timeout talking to the database")
    assert LetterFilter(ids=("knowledge/0/7",)).matches(found)
    assert not LetterFilter(ids=("knowledge/0/8",)).matches(found)
    assert LetterFilter(groups=("knowledge",), types=("ticket.*",), origin_topic="tickets").matches(found)
    assert not LetterFilter(groups=("notifier",)).matches(found)
    assert LetterFilter(error="timeout TALKING").matches(found)
    assert not LetterFilter(origin_topic="firstcall.problems").matches(found)
    assert not LetterFilter().narrows
    assert LetterFilter(error="x").narrows


async def test_a_mark_counts_only_for_the_very_letter_it_was_written_for() -> None:
    found = await letter()
    replayed = Replayed(datetime.now(UTC), "firstcall.tickets", 4, 30, "ops@host")
    same = Mark(found.id, found.timestamp_ms, replayed)
    assert with_marks([found], {found.id: Mark.from_json(same.to_json())})[0].replayed == replayed
    # The same id on a dead-letter topic deleted and created again is another letter.
    older = Mark(found.id, found.timestamp_ms - 1000, replayed)
    assert with_marks([found], {found.id: older})[0].replayed is None


async def test_a_mark_is_what_the_asyncapi_document_says_the_replayed_topic_carries() -> None:
    found = await letter()
    mark = Mark(found.id, found.timestamp_ms, Replayed(datetime.now(UTC), "firstcall.tickets", 4, 30, "ops@host"))
    schema = jsonschema_rs.Draft202012Validator(REPLAY_MARK["payload"], validate_formats=True)
    assert [e.message for e in schema.iter_errors(orjson.loads(mark.to_json()))] == []
    assert set(orjson.loads(mark.to_json())) == set(REPLAY_MARK["payload"]["properties"])


async def test_a_letter_replayed_already_or_without_origin_is_not_sent_again() -> None:
    fresh = await letter()
    done = replace(fresh, id="knowledge/0/8", replayed=Replayed(datetime.now(UTC), "firstcall.tickets", 4, 31, "a@b"))
    nowhere = replace(fresh, id="knowledge/0/9", origin=None)
    send, known = plan([fresh, done, nowhere], dry_run=False)
    assert send == [fresh]
    assert [(r.letter_id, r.outcome) for r in known] == [
        ("knowledge/0/8", "already_replayed"),
        ("knowledge/0/9", "no_origin"),
    ]
    send, known = plan([fresh], dry_run=True)
    assert send == []
    assert [r.outcome for r in known] == ["would_replay"]


def test_ids_name_the_groups_to_read_and_an_unknown_group_is_a_usage_error() -> None:
    assert groups_named(["notifier/0/3", "router/0/1"], ()) == ["router", "notifier"]
    assert groups_named([], ()) == ["router", "knowledge", "notifier", "helpdesk"]
    with pytest.raises(UsageError):
        groups_named(["billing/0/1"], ())
    with pytest.raises(UsageError):
        groups_named([], ("billing",))


async def test_an_unknown_letter_is_not_found() -> None:
    with pytest.raises(NotFound):
        find([await letter()], "knowledge/0/99")


async def test_the_reason_is_the_errors_first_line() -> None:
    found = await letter("4 validation errors for TicketOpened\ncustomer_id\n  Field required")
    assert found.reason == "shared.bus.port.PoisonEvent: 4 validation errors for TicketOpened"


async def test_letters_of_one_record_from_several_groups_go_back_together() -> None:
    knowledge = await letter()
    notifier = replace(knowledge, id="notifier/0/7", group="notifier")
    other = replace(knowledge, id="knowledge/0/8", origin=Origin("firstcall.tickets", 4, 13))
    assert by_origin([knowledge, other, notifier]) == [[knowledge, notifier], [other]]
