"""What each ops subcommand does with its parsed arguments; exit codes per services/ops/errors.py."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError
from pydantic import ValidationError

from services.ops import dead_letters, events, lag, migrations, outbox, problems, render, replay, tickets
from services.ops.api import ServiceApi
from services.ops.errors import Exit, NotFound, OpsError, UsageError
from services.ops.kafka import KafkaAccess
from shared.events.topics import CONSUMER_GROUPS
from shared.settings import ServiceSettings

MAX_REPEATED = 1000  # ids, types or groups one command takes
UNREACHABLE_KAFKA = (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError)


@dataclass(frozen=True)
class Stack:
    """What the CLI knows of the deployment, wired by services/cli.py (ops imports no service's modules)."""

    settings: Callable[[str], ServiceSettings]  # a process's settings, from its FIRSTCALL_* environment
    migrations: Callable[[str], Path]  # a process's Alembic folder
    deployed: Callable[[], tuple[str, ...]]  # the processes this environment runs, each with a database

    def kafka(self) -> KafkaAccess:
        return KafkaAccess.from_settings(self.settings("router"))

    def api(self, service: str) -> ServiceApi:
        settings = self.settings(service)
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else ""
        return ServiceApi(service, f"http://{host}:{settings.port}", key)


Command = Callable[[argparse.Namespace, Stack], Coroutine[Any, Any, int]]


def run(command: Command, args: argparse.Namespace, stack: Stack) -> int:
    """Run one async command; every failure is one line on stderr and an exit code that says which kind."""
    try:
        _check_bounds(args)
        return asyncio.run(command(args, stack))
    except KeyboardInterrupt:
        return Exit.OK  # how a tail is meant to end
    except BrokenPipeError:
        # `firstcall events tail ... | head`: the reader has what it wanted. Python would complain again
        # flushing stdout at exit, so it is pointed at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.OK
    except OpsError as exc:
        return _fail(exc.code, str(exc))
    except UNREACHABLE_KAFKA as exc:
        return _fail(Exit.UNREACHABLE, f"Kafka did not answer: {exc!r}")
    except KafkaError as exc:
        return _fail(Exit.ERROR, f"Kafka refused: {exc!r}")
    except ValidationError as exc:
        return _fail(Exit.USAGE, f"the FIRSTCALL_* settings are refused: {exc}")


def _check_bounds(args: argparse.Namespace) -> None:
    """Repeated arguments are bounded too (argparse bounds each value, not how many come)."""
    for name in ("ids", "type", "group"):
        given = getattr(args, name, None) or ()
        if len(given) > MAX_REPEATED:
            raise UsageError(f"at most {MAX_REPEATED} values of {name}, not {len(given)}")


def _fail(code: int, message: str) -> int:
    print(f"firstcall: {message}", file=sys.stderr)
    return code


async def events_tail(args: argparse.Namespace, stack: Stack) -> int:
    start = events.StartAt(offset=0 if args.from_beginning else args.from_offset, since=args.since)
    only = events.EventFilter(tuple(args.type or ()), args.subject, args.correlation_id)
    spec = events.Tail(args.topic, start, only, args.partition, args.limit, args.until_end)

    def show(view: events.EventView) -> None:
        render.emit(render.json_text(view, indent=False) if args.json else events.line(view))

    await events.tail(stack.kafka(), spec, show)
    return Exit.OK


async def lag_command(args: argparse.Namespace, stack: Stack) -> int:
    groups = await lag.consumer_lag(stack.kafka(), tuple(args.group) if args.group else CONSUMER_GROUPS)
    if args.json:
        render.emit(render.json_text([{**render.plain(g), "total": g.total} for g in groups]))
        return Exit.OK
    # A partition no event ever reached says nothing; --json still lists it.
    rows = [
        (g.group, p.topic, p.partition, p.committed, p.end, p.lag, render.age(p.oldest_age_seconds))
        for g in groups
        for p in g.partitions
        if p.committed is not None or p.lag
    ]
    headers = ("group", "topic", "partition", "committed", "end", "lag", "oldest")
    blocks = [render.table(headers, rows)] if rows else []
    blocks += [f"group {g.group}: no offsets committed on Kafka" for g in groups if not g.known]
    render.emit("\n".join(blocks) or "no consumer groups")
    return Exit.OK


def _letter_filter(args: argparse.Namespace, *, include_replayed: bool = True) -> dead_letters.LetterFilter:
    return dead_letters.LetterFilter(
        ids=tuple(getattr(args, "ids", None) or ()),
        groups=tuple(args.group or ()),
        types=tuple(args.type or ()),
        origin_topic=args.origin_topic,
        error=args.error,
        include_replayed=include_replayed,
    )


async def _letters(
    args: argparse.Namespace, stack: Stack, only: dead_letters.LetterFilter
) -> list[dead_letters.DeadLetter]:
    kafka = stack.kafka()
    groups = dead_letters.groups_named(only.ids, only.groups)
    letters = await replay.load_marked(kafka, await dead_letters.read_letters(kafka, groups))
    return [letter for letter in letters if only.matches(letter)]


def _letter_row(letter: dead_letters.DeadLetter, now: datetime) -> tuple[object, ...]:
    replayed = letter.replayed
    return (
        letter.id,
        render.age((now - letter.dead_lettered_at).total_seconds()) + " ago",
        letter.event.type or "(malformed)",
        letter.event.subject,
        letter.attempts,
        str(letter.origin) if letter.origin else None,
        f"{render.age((now - replayed.at).total_seconds())} ago" if replayed else "no",
        render.short(letter.reason, 70),
    )


async def dead_letters_list(args: argparse.Namespace, stack: Stack) -> int:
    only = _letter_filter(args, include_replayed=not args.not_replayed)
    letters = (await _letters(args, stack, only))[-args.limit :]
    if args.json:
        render.emit(render.json_text([_letter_json(letter) for letter in letters]))
        return Exit.OK
    now = datetime.now(UTC)
    headers = ("letter", "dead-lettered", "event", "subject", "attempts", "origin", "replayed", "reason")
    render.emit(render.table(headers, [_letter_row(x, now) for x in letters]) if letters else "no dead letters")
    return Exit.OK


def _letter_json(letter: dead_letters.DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "group": letter.group,
        "dead_lettered_at": letter.dead_lettered_at,
        "attempts": letter.attempts,
        "reason": letter.reason,
        "error": letter.error,
        "origin": render.plain(letter.origin),
        "event": render.plain(letter.event),
        "replayed": render.plain(letter.replayed),
    }


async def dead_letters_show(args: argparse.Namespace, stack: Stack) -> int:
    group = dead_letters.groups_named([args.id], ())
    kafka = stack.kafka()
    letter = dead_letters.find(await replay.load_marked(kafka, await dead_letters.read_letters(kafka, group)), args.id)
    if args.json:
        render.emit(render.json_text(_letter_json(letter)))
        return Exit.OK
    event, replayed = letter.event, letter.replayed
    facts = [
        ("letter", letter.id),
        ("dead-lettered", letter.dead_lettered_at),
        ("attempts", letter.attempts),
        ("origin", letter.origin),
        ("event", f"{event.type} {event.id}" if event.malformed is None else f"not a CloudEvent: {event.malformed}"),
        ("subject", event.subject),
        ("time", event.time),
        ("correlation", event.correlation_id),
        (
            "replayed",
            f"to {replayed.topic}/{replayed.partition}/{replayed.offset} at "
            f"{render.timestamp(replayed.at)} by {replayed.by}"
            if replayed
            else "no",
        ),
    ]
    width = max(len(label) for label, _ in facts)
    lines = [f"{label.ljust(width)}  {render.cell_text(value)}" for label, value in facts]
    lines += ["", "error:", letter.error or render.EMPTY, "", "data:", render.json_text(event.data)]
    render.emit("\n".join(lines))
    return Exit.OK


async def dead_letters_replay(args: argparse.Namespace, stack: Stack) -> int:
    only = _letter_filter(args)
    if not (args.all or only.narrows):
        raise UsageError("name letters to replay (ids), a filter (--group, --type, --origin-topic, --error) or --all")
    letters = await _letters(args, stack, only)
    if missing := sorted(set(only.ids) - {letter.id for letter in letters}):
        raise NotFound(f"no dead letter {', '.join(missing)}; nothing was replayed")
    if not letters:
        raise NotFound("no dead letter matches; nothing was replayed")

    def report(result: replay.ReplayResult) -> None:
        if args.json:
            render.emit(render.json_text(result, indent=False))
            return
        where = f" -> {result.to}" if result.to else ""
        render.emit(
            f"{result.outcome.replace('_', ' ')}  {result.letter_id}{where}"
            + (f"  ({result.detail})" if result.detail else "")
        )

    results = await replay.replay(stack.kafka(), letters, dry_run=args.dry_run, on_result=report)
    if not args.json:
        counts: dict[str, int] = {}
        for result in results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        render.emit(", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in sorted(counts.items())))
    return Exit.OK


async def outbox_command(args: argparse.Namespace, stack: Stack) -> int:
    services = [args.service] if args.service else list(stack.deployed())
    found = [
        await outbox.outbox_status(service=s, database_url=stack.settings(s).resolved_database_url()) for s in services
    ]
    if args.json:
        render.emit(render.json_text(found))
    else:
        rows = [
            (
                s.service,
                s.pending,
                render.age(s.oldest_pending_age_seconds),
                s.failing,
                s.most_attempts,
                s.published_last_hour,
                render.short(s.problem or s.last_error or render.EMPTY, 70),
            )
            for s in found
        ]
        headers = ("service", "pending", "oldest", "failing", "attempts", "published 1h", "last error")
        render.emit(render.table(headers, rows))
    return (
        Exit.UNREACHABLE
        if any(not s.reachable for s in found)
        else Exit.ERROR
        if any(s.pending is None for s in found)
        else Exit.OK
    )


async def problems_list(args: argparse.Namespace, stack: Stack) -> int:
    items = await problems.list_problems(
        stack.api("notifier"), status=args.status, severity=args.severity, limit=args.limit
    )
    render.emit(render.json_text(items) if args.json else problems.problems_table(items))
    return Exit.OK


async def problems_show(args: argparse.Namespace, stack: Stack) -> int:
    problem = await problems.get_problem(stack.api("notifier"), tickets.ticket_uuid(args.id))
    render.emit(render.json_text(problem) if args.json else problems.problem_text(problem))
    return Exit.OK


async def tickets_show(args: argparse.Namespace, stack: Stack) -> int:
    trail = await tickets.follow_ticket(
        ticket_id=args.id,
        router=stack.api("router"),
        knowledge=stack.api("knowledge"),
        notifier=stack.api("notifier"),
        outboxes={s: stack.settings(s).resolved_database_url() for s in ("router", "knowledge", "notifier")},
    )
    render.emit(render.json_text(trail) if args.json else tickets.trail_text(trail))
    return Exit.OK


async def db_status(args: argparse.Namespace, stack: Stack) -> int:
    url, folder = stack.settings(args.service).resolved_database_url(), stack.migrations(args.service)
    if args.action == "history":
        history = await migrations.migration_history(database_url=url, migrations=folder)
        if args.json:
            render.emit(render.json_text(history))
        else:
            rows = [(r.revision, r.down_revision, "yes" if r.applied else "no", _marks(r), r.message) for r in history]
            render.emit(render.table(("revision", "down", "applied", "", "message"), rows))
        return Exit.OK
    state = await migrations.migration_state(service=args.service, database_url=url, migrations=folder)
    if args.json:
        render.emit(render.json_text({**render.plain(state), "at_head": state.at_head}))
    else:
        where = ", ".join(state.current) or "none (never migrated)"
        status = (
            "at head"
            if state.at_head
            else f"{len(state.pending)} revision(s) to apply: `firstcall db upgrade {args.service}`"
        )
        render.emit(f"{args.service}: {where} ({status})")
    return Exit.OK


def _marks(revision: migrations.Revision) -> str:
    return " ".join(m for m, on in (("(current)", revision.current), ("(head)", revision.head)) if on)
