"""knowledge_intake: knowledge's CPU per TicketOpened, in its real event dispatcher, on SQLite and PostgreSQL.

Issue 23 aim 1 counts every service's CPU per ticket. TicketOpened events go to the knowledge service's
own event dispatcher (inbox, erasure guard, suggestion: ranking, known-issue match, snippets, record,
KnowledgeSuggested into the outbox, commit), in this process, over a knowledge base like
knowledge_suggest's (generated articles) with known issues beside it; the in-memory bus's relay publishes
what the outbox holds. Ticket words are BANKING77 questions and the burst's outage reports. Measured as
this process's CPU time (`time.process_time`) per ticket, the relay included; PostgreSQL's own CPU and the
Kafka client's are not in it, nor the sealed-field key asked of the router (no router here).

Two paths take turns round by round on the same tickets' words (decision 0045): `before`, each snippet's
body read from the database and analysed as it was before the passage cache, every character of ASCII
text through the accent pass, and the kind mask made at every ranking (the code of that time, restored
by this bench); `after`, the service as it is. Both must suggest the same articles with the same
snippets; the table says whether they did.
`--breakdown` adds where the CPU of the `after` path goes (wrappers timing each step).

    python -m bench.knowledge_intake [--quick] [--articles 2000] [--databases sqlite,postgresql] [--breakdown]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import statistics
import tempfile
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from bench.banking77 import DEFAULT_DATA, load_split
from bench.burst_measure import APP_CRASH, BLANK_STATEMENT
from bench.knowledge_latency import Corpus
from bench.report import table
from services.knowledge.articles import service as article_service
from services.knowledge.articles.schemas import ArticleCreate
from services.knowledge.bootstrap import build_runtime
from services.knowledge.known_issues import service as known_issue_service
from services.knowledge.known_issues.schemas import KnownIssueCreate
from services.knowledge.search import ranking
from services.knowledge.search.index import SearchIndex
from services.knowledge.search.replica import SearchReplica, replica_of
from services.knowledge.search.snippets import PassageCache
from services.knowledge.settings import KnowledgeSettings
from services.knowledge.suggestions import service as suggestion_service
from services.knowledge.suggestions.models import TicketSuggestion
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent
from shared.messaging import inbox
from shared.runtime import ServiceRuntime
from shared.text import analyser
from tests.stack import create_database, drop_database, unreachable_parts

NAME = "knowledge_intake"
KNOWN_ISSUES = 20
SQLITE_URL = "sqlite+aiosqlite:///{data_dir}/{service}.db"


def ticket_texts() -> list[tuple[str, str]]:
    """(subject, description): BANKING77 questions as a subject alone, and outage reports of the burst."""
    questions = [(text, "") for text, _ in load_split(DEFAULT_DATA / "test.csv")]
    outages = [words.text(n) for words in (APP_CRASH, BLANK_STATEMENT) for n in range(len(questions) // 2)]
    found = questions + outages
    random.Random(23).shuffle(found)
    return found


def opened(subject: str, description: str, rng: random.Random) -> CloudEvent:
    return TicketOpened(
        ticket_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        customer_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        channel="web",
        subject=subject[:300],
        description=description,
        priority="normal",
        opened_at=datetime.now(UTC),
    ).to_cloudevent()


@asynccontextmanager
async def knowledge(database: str) -> AsyncIterator[ServiceRuntime]:
    """The knowledge service on the in-memory bus and a fresh database (a new PostgreSQL database, dropped after)."""
    name = f"fc_bench_intake_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        # Always named: the stack's environment (var/stack.env) names the stack's own database otherwise.
        url = await create_database(name) if database == "postgresql" else SQLITE_URL
        settings = KnowledgeSettings(
            environment="test", data_dir=Path(folder), log_level="WARNING", log_format="text", database_url=url
        )
        bus = InMemoryBus(physical_topics(settings))
        runtime = build_runtime(settings, bus=bus)
        try:
            await runtime.start()
            try:
                yield runtime
            finally:
                await runtime.stop()
                await bus.stop()
        finally:
            if database == "postgresql":
                await drop_database(name)


async def load_base(runtime: ServiceRuntime, articles: int) -> None:
    """Published generated articles and a few known issues worded like the burst's outages."""
    corpus = Corpus()
    async with runtime.database.session() as session:
        for document in corpus.documents(articles):
            request = ArticleCreate(title=document.title[:300], body=document.body, status="published")
            await article_service.create_article(session=session, request=request)
        for n in range(KNOWN_ISSUES):
            words = (APP_CRASH, BLANK_STATEMENT)[n % 2]
            subject, description = words.text(10_000 + n) if n < 2 else (corpus.phrase(6), corpus.phrase(20))
            issue = KnownIssueCreate(title=subject[:300], symptoms=description, affected_products=["app"])
            await known_issue_service.create_known_issue(session=session, request=issue)
        await session.commit()


def _fold_every_character(text: str) -> str:
    """shared/text/analyser._fold before ASCII skipped the per-character pass (the baseline's)."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))


def _kind_mask_every_call(index: SearchIndex, kind: str) -> npt.NDArray[np.bool_]:
    """SearchIndex.kind_mask before the mask was kept (the baseline's)."""
    return index.facet_mask("kind", [kind])


@contextmanager
def before(replica: SearchReplica) -> Iterator[None]:
    """The path as it was: no passage cache (every body read and analysed), every character folded, the
    kind mask made at every ranking."""
    cache, fold, kind_mask = replica.passages, analyser._fold, SearchIndex.kind_mask
    replica.passages, analyser._fold = PassageCache(max_chars=0), _fold_every_character
    setattr(SearchIndex, "kind_mask", _kind_mask_every_call)  # noqa: B010 - a method swapped for the baseline
    try:
        yield
    finally:
        replica.passages, analyser._fold = cache, fold
        setattr(SearchIndex, "kind_mask", kind_mask)  # noqa: B010


async def settle(runtime: ServiceRuntime) -> None:
    """Until the relay has published every suggestion (its CPU belongs to the tickets)."""
    while await runtime.relay.pending():  # noqa: ASYNC110 - the relay has no "all published" signal
        await asyncio.sleep(0.02)


async def suggested(runtime: ServiceRuntime, events: list[CloudEvent]) -> list[list[tuple[str, str]]]:
    """Each ticket's suggested article ids and snippets, in order."""
    async with runtime.database.session() as session:
        found = []
        for event in events:
            row = await session.get(TicketSuggestion, uuid.UUID(str(event.subject)))
            found.append([(a["article_id"], a["snippet"]) for a in row.articles] if row else [])
    return found


async def measure(database: str, articles: int, quick: bool) -> tuple[list[str], dict[str, list[float]]]:
    per_round, rounds = (40, 2) if quick else (100, 4)
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    same = total = 0
    async with knowledge(database) as runtime:
        await load_base(runtime, articles)
        dispatcher, replica = runtime.consumers[0].dispatcher, replica_of(runtime.database)
        rng, pool = random.Random(1), iter(ticket_texts())
        for event in [opened(*next(pool), rng) for _ in range(30)]:  # the index's build, first pages
            await dispatcher(event)
        await settle(runtime)
        cache = replica.passages
        cache.hits = cache.misses = 0
        for round_ in range(rounds):
            words = [next(pool) for _ in range(per_round)]
            batches = {path: [opened(*text, rng) for text in words] for path in cpu}
            for path in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                with before(replica) if path == "before" else _as_is():
                    started = time.process_time()
                    for event in batches[path]:
                        await dispatcher(event)
                    await settle(runtime)
                    cpu[path].append((time.process_time() - started) / per_round * 1000)
            pairs = zip(*[await suggested(runtime, batches[path]) for path in cpu], strict=True)
            same += sum(first == second for first, second in pairs)
            total += per_round
    row = [database, f"{articles:,}"]
    row += [f"{statistics.median(values):.2f}" for values in cpu.values()]
    row.append(f"{statistics.median(cpu['after']) / statistics.median(cpu['before']):.2f}")
    row.append(" / ".join(f"{b:.1f}-{a:.1f}" for b, a in zip(cpu["before"], cpu["after"], strict=True)))
    row.append(f"{same} of {total}")
    row.append(f"{cache.hits / max(cache.hits + cache.misses, 1):.0%}")
    return row, cpu


@contextmanager
def _as_is() -> Iterator[None]:
    yield


STEPS: list[tuple[Any, str, str]] = [
    (inbox, "claim", "inbox row"),
    (suggestion_service, "record_ticket", "suggestion, all of it"),
    (SearchReplica, "catch_up", "  catching up with the change log"),
    (ranking.Ranker, "query_terms", "  text analysis of the ticket (terms, corrections)"),
    (ranking.Ranker, "rank", "  ranking (words, trigrams, feedback)"),
    (suggestion_service, "article_passages", "  snippets' passages (cache, else body read + analysis)"),
    (suggestion_service, "best_passage", "  snippets chosen"),
    (suggestion_service, "_first_look", "  first look: seen before? linked to a known issue? (one statement)"),
    (suggestion_service, "_matching_issue", "  known issue matched (cosine, ORM read)"),
    (suggestion_service, "_publish", "  record + KnowledgeSuggested into the outbox"),
    (AsyncSession, "commit", "commit"),
]
WHOLE = "the whole dispatch: the rows above, validation, erasure guard, session, metrics, log"


async def breakdown(database: str, articles: int, quick: bool) -> dict[str, float]:
    """Where the `after` path's CPU goes, ms per ticket: each step timed by a wrapper (the relay stopped)."""
    tickets = 100 if quick else 300
    spent: dict[str, float] = dict.fromkeys((label for _, _, label in STEPS), 0.0)
    async with knowledge(database) as runtime:
        await load_base(runtime, articles)
        dispatcher = runtime.consumers[0].dispatcher
        rng, pool = random.Random(2), iter(ticket_texts())
        for event in [opened(*next(pool), rng) for _ in range(30)]:
            await dispatcher(event)
        await runtime.relay.stop(flush_timeout=60)  # its cycles would land inside the steps' awaits
        events = [opened(*next(pool), rng) for _ in range(tickets)]
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in STEPS]
        for owner, name, label in STEPS:
            setattr(owner, name, _timed(getattr(owner, name), label, spent))
        try:
            started = time.process_time()
            for event in events:
                await dispatcher(event)
            spent[WHOLE] = time.process_time() - started
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)
    return {label: seconds / tickets * 1000 for label, seconds in spent.items()}


def _timed(function: Callable[..., Any], label: str, spent: dict[str, float]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await function(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started

        return timed_async

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    return timed


def run(
    quick: bool, *, articles: int = 2000, databases: tuple[str, ...] = ("sqlite", "postgresql"), steps: bool = False
) -> str:
    """The A/B table (and the breakdown) as Markdown; PostgreSQL is skipped when the stack is not up."""
    if "PostgreSQL" in unreachable_parts():
        databases = tuple(d for d in databases if d != "postgresql")
    load_at_start = os.getloadavg()
    rows = [asyncio.run(measure(database, articles, quick))[0] for database in databases]
    header = [
        "database",
        "articles",
        "before ms/ticket",
        "after ms/ticket",
        "after / before",
        "each round (before-after)",
        "same suggestions",
        "after: passages cached",
    ]
    out = [
        f"## {NAME}: knowledge's CPU per TicketOpened, before and after (same run, rounds alternating)",
        "",
        table(header, rows),
    ]
    if steps:
        found = [asyncio.run(breakdown(database, articles, quick)) for database in databases]
        labels = [label for _, _, label in STEPS] + [WHOLE]
        rows = [[label, *(f"{figures[label]:.2f}" for figures in found)] for label in labels]
        out += ["", table(["after path, step (indented: inside the suggestion)", *databases], rows)]
    load = ", ".join(f"{x:.2f}" for x in load_at_start)
    out.append(
        f"\nload average at start {load}, at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} cores); CPU is this process's (time.process_time), median of the rounds.\n"
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--breakdown", action="store_true", help="also time each step of the after path")
    args = parser.parse_args()
    databases = tuple(name for name in args.databases.split(",") if name)
    print(run(args.quick, articles=args.articles, databases=databases, steps=args.breakdown))


if __name__ == "__main__":
    main()
