"""The ops subcommands' arguments, added to the `firstcall` parser by services/cli.py."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from services.ops import commands
from services.ops.arguments import bounded, bounded_text, since
from services.ops.commands import Command, Stack
from shared.events.topics import CONSUMER_GROUPS

EPILOG = "exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 Kafka, a database or a service unreachable"
TEXT = bounded_text(200)
MAX_REPEATED = commands.MAX_REPEATED
Subparsers = Any  # argparse._SubParsersAction is private; what is used of it is `add_parser`


class _Builder:
    """Adds a subcommand with the same help, epilog and `--json` everywhere, bound to its command."""

    def __init__(self, stack: Callable[[], Stack]) -> None:
        self.stack = stack

    def add(self, parent: Subparsers, name: str, help_: str, command: Command | None = None) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help_, description=help_, epilog=EPILOG)
        if command is not None:
            stack = self.stack
            parser.set_defaults(func=lambda args: commands.run(command, args, stack()))
            parser.add_argument("--json", action="store_true", help="JSON for scripts instead of text")
        return parser


def add_ops_commands(subcommands: Subparsers, stack: Callable[[], Stack]) -> None:
    """`events`, `lag`, `dead-letters`, `outbox`, `problems` and `tickets`, each reading the real stack."""
    build = _Builder(stack)
    _events(build, subcommands)
    lag = build.add(
        subcommands,
        "lag",
        "each consumer group's lag per partition, and its oldest unconsumed event's age",
        commands.lag_command,
    )
    lag.add_argument("--group", action="append", choices=CONSUMER_GROUPS, help="only this group (repeatable)")
    _dead_letters(build, subcommands)
    box = build.add(
        subcommands,
        "outbox",
        "per service: events committed but not yet on Kafka, the oldest's age, failures",
        commands.outbox_command,
    )
    box.add_argument("--service", choices=("router", "knowledge", "notifier", "helpdesk"))
    _problems(build, subcommands)
    tickets = build.add(subcommands, "tickets", "one ticket across the services").add_subparsers(
        dest="action", required=True
    )
    show = build.add(tickets, "show", "the ticket, its suggestions, report, problem and events", commands.tickets_show)
    show.add_argument("id", type=TEXT, help="the ticket's id (a UUID)")


def _events(build: _Builder, subcommands: Subparsers) -> None:
    events = build.add(subcommands, "events", "Kafka topics' events, decoded").add_subparsers(
        dest="action", required=True
    )
    tail = build.add(events, "tail", "follow a topic, each CloudEvent decoded", commands.events_tail)
    tail.add_argument("topic", type=TEXT, help="firstcall.tickets, or just tickets (the topic prefix is added)")
    tail.add_argument("--type", action="append", type=TEXT, help="event type: ticket.opened, ticket.* (repeatable)")
    tail.add_argument("--subject", type=TEXT, help="the aggregate id (ticket, customer, problem...)")
    tail.add_argument("--correlation-id", type=TEXT, help="the work that caused the events")
    start = tail.add_mutually_exclusive_group()
    start.add_argument("--from-offset", type=bounded(0, 2**62), metavar="N", help="from offset N of each partition")
    start.add_argument("--from-beginning", action="store_true", help="from the oldest record kept")
    start.add_argument("--since", type=since, metavar="TIME", help="from a time: 15m, 2h, 3d ago or ISO 8601")
    tail.add_argument("--partition", type=bounded(0, 10_000), help="one partition only")
    tail.add_argument("--limit", type=bounded(1, 1_000_000), metavar="N", help="stop after N matching events")
    tail.add_argument("--until-end", action="store_true", help="stop at the end of what the topic held at the start")


def _dead_letters(build: _Builder, subcommands: Subparsers) -> None:
    letters = build.add(subcommands, "dead-letters", "events a consumer group gave up on: list, show, replay")
    actions = letters.add_subparsers(dest="action", required=True)
    listing = build.add(
        actions,
        "list",
        "dead letters, oldest first: what failed, why, how often, from where",
        commands.dead_letters_list,
    )
    _letter_filters(listing)
    listing.add_argument("--not-replayed", action="store_true", help="leave out letters replayed already")
    listing.add_argument("--limit", type=bounded(1, 100_000), default=1000, help="the most recent N (default 1000)")
    show = build.add(actions, "show", "one dead letter: its error, where from, its data", commands.dead_letters_show)
    show.add_argument("id", type=TEXT, help="<group>/<partition>/<offset>, as `dead-letters list` shows")
    replay = build.add(
        actions, "replay", "send letters back to their origin topic, each once", commands.dead_letters_replay
    )
    replay.add_argument("ids", nargs="*", type=TEXT, metavar="ID", help=f"letters by id (at most {MAX_REPEATED})")
    _letter_filters(replay)
    replay.add_argument("--all", action="store_true", help="every letter not replayed yet")
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed, send nothing")


def _letter_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", action="append", choices=CONSUMER_GROUPS, help="the group that gave up (repeatable)")
    parser.add_argument("--type", action="append", type=TEXT, help="event type: ticket.opened, ticket.* (repeatable)")
    parser.add_argument("--origin-topic", type=TEXT, help="where the letter came from, e.g. tickets")
    parser.add_argument("--error", type=TEXT, help="a piece of the error's text (case-insensitive)")


def _problems(build: _Builder, subcommands: Subparsers) -> None:
    problems = build.add(subcommands, "problems", "the notifier's problems (its API, with FIRSTCALL_ADMIN_API_KEY)")
    actions = problems.add_subparsers(dest="action", required=True)
    listing = build.add(
        actions, "list", "problems, most recently active first: size, growth, status", commands.problems_list
    )
    listing.add_argument("--status", choices=("forming", "open", "resolved", "merged"))
    listing.add_argument("--severity", choices=("minor", "major"))
    listing.add_argument("--limit", type=bounded(1, 200), default=50, help="at most N (default 50)")
    show = build.add(actions, "show", "one problem with its member tickets", commands.problems_show)
    show.add_argument("id", type=TEXT, help="the problem's id (a UUID)")
