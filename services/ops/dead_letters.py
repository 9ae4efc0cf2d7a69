"""Dead letters as ops read them: what failed, why, how often, where from, and whether it was replayed.

A consumer group writes a record it gave up on to `firstcall.dlt.<group>` unchanged, with its reasons added
as headers (shared/bus/delivery.py). A letter's id is `<group>/<partition>/<offset>` on that topic.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.ops import render
from services.ops.errors import NotFound, UsageError
from services.ops.events import EventView, decode, type_matches
from services.ops.kafka import KafkaAccess, read_topic
from shared.bus.port import Record
from shared.events.envelope import Headers
from shared.events.topics import CONSUMER_GROUPS, dead_letter_topic

DLT_HEADER_PREFIX = "firstcall_dlt_"


@dataclass(frozen=True)
class Origin:
    topic: str  # the physical topic the record was on
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> Origin | None:
        topic, _, rest = text.rpartition("/")
        topic, _, partition = topic.rpartition("/")
        if not topic or not partition.isdigit() or not rest.isdigit():
            return None
        return cls(topic, int(partition), int(rest))

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


@dataclass(frozen=True)
class Replayed:
    """When a letter went back to its origin topic, and where it landed there."""

    at: datetime
    topic: str
    partition: int
    offset: int
    by: str


@dataclass(frozen=True)
class DeadLetter:
    id: str
    group: str
    dead_lettered_at: datetime
    error: str
    attempts: int | None
    origin: Origin | None
    event: EventView
    key: bytes | None
    value: bytes | None
    headers: Headers  # the original record's, without the dead-letter headers: what a replay sends
    timestamp_ms: int
    replayed: Replayed | None = None

    @property
    def reason(self) -> str:
        """The error's first line: the exception and the start of its message (pydantic's go on for lines)."""
        lines = [line for line in self.error.splitlines() if line.strip()]
        return lines[0] if lines else render.EMPTY


def letter_id(group: str, partition: int, offset: int) -> str:
    return f"{group}/{partition}/{offset}"


def parse_letter(group: str, record: Record) -> DeadLetter:
    """A record of a dead-letter topic, its reasons taken from the headers and the rest left as it was."""
    extra = {
        name.removeprefix(DLT_HEADER_PREFIX): value.decode("utf-8", errors="replace")
        for name, value in record.headers
        if name.startswith(DLT_HEADER_PREFIX)
    }
    original = [(name, value) for name, value in record.headers if not name.startswith(DLT_HEADER_PREFIX)]
    attempts = extra.get("attempts", "")
    origin = Origin.parse(extra.get("source", ""))
    view = decode(replace(record, headers=original))
    return DeadLetter(
        id=letter_id(group, record.partition, record.offset),
        group=group,
        dead_lettered_at=render.from_millis(record.timestamp_ms),
        error=extra.get("error", ""),
        attempts=int(attempts) if attempts.isdigit() else None,
        origin=origin,
        event=view,
        key=record.key,
        value=record.value,
        headers=original,
        timestamp_ms=record.timestamp_ms,
    )


@dataclass(frozen=True)
class LetterFilter:
    """Which letters a command means: ids, or conditions that must all hold, or every letter (`all`)."""

    ids: Sequence[str] = ()
    groups: Sequence[str] = ()
    types: Sequence[str] = ()
    origin_topic: str | None = None
    error: str | None = None  # a substring of the error, case-insensitive
    include_replayed: bool = True

    @property
    def narrows(self) -> bool:
        return bool(self.ids or self.types or self.origin_topic or self.error or self.groups)

    def matches(self, letter: DeadLetter) -> bool:
        if self.ids and letter.id not in self.ids:
            return False
        if self.groups and letter.group not in self.groups:
            return False
        if self.types and not any(type_matches(t, letter.event.type) for t in self.types):
            return False
        if self.origin_topic is not None and not _origin_matches(self.origin_topic, letter.origin):
            return False
        if self.error is not None and self.error.lower() not in letter.error.lower():
            return False
        return self.include_replayed or letter.replayed is None


def _origin_matches(pattern: str, origin: Origin | None) -> bool:
    if origin is None:
        return False
    return any(fnmatch.fnmatchcase(origin.topic, p) for p in (pattern, f"*{pattern}", f"*firstcall.{pattern}"))


def groups_named(ids: Sequence[str], groups: Sequence[str]) -> list[str]:
    """The groups whose dead-letter topics a command must read: those named, or by the ids, or all."""
    if groups:
        unknown = [g for g in groups if g not in CONSUMER_GROUPS]
        if unknown:
            raise UsageError(f"no consumer group {', '.join(unknown)}: one of {', '.join(CONSUMER_GROUPS)}")
        return list(groups)
    by_id = {letter.split("/", 1)[0] for letter in ids}
    unknown = sorted(by_id - set(CONSUMER_GROUPS))
    if unknown:
        raise UsageError(f"a letter id is <group>/<partition>/<offset>, with a group of {', '.join(CONSUMER_GROUPS)}")
    return [g for g in CONSUMER_GROUPS if g in by_id] if by_id else list(CONSUMER_GROUPS)


async def read_letters(kafka: KafkaAccess, groups: Sequence[str]) -> list[DeadLetter]:
    """Every letter the groups' dead-letter topics hold, oldest first."""
    letters: list[DeadLetter] = []
    async with kafka.reader() as consumer:
        for group in groups:
            records = await read_topic(consumer, kafka.topic(dead_letter_topic(group).name))
            letters += [parse_letter(group, record) for record in records]
    return sorted(letters, key=lambda letter: letter.timestamp_ms)


def find(letters: Sequence[DeadLetter], letter: str) -> DeadLetter:
    for candidate in letters:
        if candidate.id == letter:
            return candidate
    raise NotFound(f"no dead letter {letter} (ids are <group>/<partition>/<offset>, as `dead-letters list` shows)")
