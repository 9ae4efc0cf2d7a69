"""Replaying dead letters to their origin topic, each at most once across commands and operators' runs.

Every replay is recorded on the compacted topic `firstcall.dead-letters.replayed`, keyed by letter id, after
the broker acknowledged the replayed record (why there: docs/operations.md#replaying-dead-letters). The mark lives beside the letters, needs no database of its own, and compaction keeps the latest mark per
letter for as long as the topic exists. Sending first and marking second means a crash between the two
replays that letter again on the next command: consumers' inboxes drop the copy by its event id. The other
order would lose the letter.
"""

from __future__ import annotations

import dataclasses
import getpass
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from services.ops import render
from services.ops.dead_letters import DeadLetter, Replayed
from services.ops.errors import OpsError
from services.ops.kafka import KafkaAccess, read_topic
from shared.bus.kafka import ensure_topics
from shared.events.topics import DEAD_LETTERS_REPLAYED as REPLAYED

REPLAY_HEADER = "firstcall_replayed_from"


@dataclass(frozen=True)
class Mark:
    """What the replay log says of one letter. The letter's own timestamp tells a letter from a later one
    that got the same id on a dead-letter topic deleted and created again."""

    letter_id: str
    letter_timestamp_ms: int
    replayed: Replayed

    def to_json(self) -> bytes:
        # orjson writes the time to the microsecond (render.plain would round it to milliseconds for people).
        return orjson.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Mark:
        data = orjson.loads(raw)
        replayed = data["replayed"]
        return cls(
            data["letter_id"],
            int(data["letter_timestamp_ms"]),
            Replayed(
                at=datetime.fromisoformat(replayed["at"]),
                topic=replayed["topic"],
                partition=int(replayed["partition"]),
                offset=int(replayed["offset"]),
                by=replayed["by"],
            ),
        )


async def read_marks(kafka: KafkaAccess, consumer: AIOKafkaConsumer) -> dict[str, Mark]:
    """The latest mark per letter id (a tombstone, a null value, would forget one)."""
    marks: dict[str, Mark] = {}
    for record in await read_topic(consumer, kafka.topic(REPLAYED.name)):
        key = (record.key or b"").decode()
        if record.value is None:
            marks.pop(key, None)
        else:
            marks[key] = Mark.from_json(record.value)
    return marks


def with_marks(letters: Sequence[DeadLetter], marks: dict[str, Mark]) -> list[DeadLetter]:
    """The letters with their replay, if the log has one for this very letter."""
    result = []
    for letter in letters:
        mark = marks.get(letter.id)
        same = mark is not None and mark.letter_timestamp_ms == letter.timestamp_ms
        result.append(replace(letter, replayed=mark.replayed if same and mark is not None else None))
    return result


async def load_marked(kafka: KafkaAccess, letters: Sequence[DeadLetter]) -> list[DeadLetter]:
    async with kafka.reader() as consumer:
        return with_marks(letters, await read_marks(kafka, consumer))


def operator() -> str:
    """Who replayed, for the log: the local user and machine (never a credential)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class ReplayResult:
    letter_id: str
    outcome: str  # replayed, already_replayed, no_origin, would_replay (dry run)
    to: str | None = None  # topic/partition/offset on the origin topic
    detail: str | None = None


def plan(letters: Sequence[DeadLetter], *, dry_run: bool) -> tuple[list[DeadLetter], list[ReplayResult]]:
    """Which letters to send now, and the answer already known for the others."""
    send: list[DeadLetter] = []
    known: list[ReplayResult] = []
    for letter in letters:
        if letter.replayed is not None:
            r = letter.replayed
            known.append(
                ReplayResult(
                    letter.id,
                    "already_replayed",
                    f"{r.topic}/{r.partition}/{r.offset}",
                    f"at {render.timestamp(r.at)} by {r.by}",
                )
            )
        elif letter.origin is None:
            known.append(ReplayResult(letter.id, "no_origin", None, "the letter names no origin topic"))
        elif dry_run:
            known.append(ReplayResult(letter.id, "would_replay", letter.origin.topic))
        else:
            send.append(letter)
    return send, known


def by_origin(letters: Sequence[DeadLetter]) -> list[list[DeadLetter]]:
    """Letters of one record (several groups gave up on it) go back as one record: every group of the origin
    topic reads it again, and each handles it at most once (its inbox)."""
    batches: dict[str, list[DeadLetter]] = {}
    for letter in letters:
        batches.setdefault(str(letter.origin), []).append(letter)
    return list(batches.values())


async def replay(
    kafka: KafkaAccess, letters: Sequence[DeadLetter], *, dry_run: bool, on_result: Callable[[ReplayResult], None]
) -> list[ReplayResult]:
    """Send each letter not replayed yet back to its origin topic (same key, value and CloudEvents headers)."""
    send, results = plan(letters, dry_run=dry_run)
    for result in results:
        on_result(result)
    if not send:
        return results
    async with kafka.admin() as admin:  # services create it too, but a replay may come before any started
        await ensure_topics(admin, [replace(REPLAYED, name=kafka.topic(REPLAYED.name))], kafka.replication_factor)
    by = operator()
    async with kafka.producer() as producer:
        for batch in by_origin(send):
            first, ids = batch[0], ",".join(letter.id for letter in batch)
            assert first.origin is not None
            headers = [*first.headers, (REPLAY_HEADER, ids.encode())]
            try:
                sent = await producer.send_and_wait(first.origin.topic, first.value, first.key, headers=headers)
                replayed = Replayed(datetime.now(UTC), sent.topic, sent.partition, sent.offset, by)
                for letter in batch:
                    mark = Mark(letter.id, letter.timestamp_ms, replayed)
                    await producer.send_and_wait(kafka.topic(REPLAYED.name), mark.to_json(), letter.id.encode())
            except KafkaError as exc:
                raise OpsError(f"replay of {ids} failed, nothing more was sent: {exc!r}") from exc
            for letter in batch:
                result = ReplayResult(letter.id, "replayed", f"{sent.topic}/{sent.partition}/{sent.offset}")
                on_result(result)
                results.append(result)
    return results
