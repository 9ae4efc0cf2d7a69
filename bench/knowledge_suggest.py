"""knowledge_suggest: how long after a ticket opens its suggestion is on the bus for the router.

Knowledge runs as in embedded mode (SQLite, in-memory bus) over a knowledge base of generated articles.
For each ticket, the clock starts when TicketOpened is published and stops when knowledge's
KnowledgeSuggested for that ticket is on the bus: consuming, catching up with the change log, ranking,
matching known issues, reading snippets, storing, committing, and the outbox relay publishing it. On the
real stack Kafka adds its own hop (the integration test asserts the whole path under a second).

    python -m bench.knowledge_suggest [--articles 2000] [--tickets 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.knowledge_latency import Corpus, percentile
from services.knowledge.articles import service as article_service
from services.knowledge.articles.schemas import ArticleCreate
from services.knowledge.bootstrap import build_runtime
from services.knowledge.settings import KnowledgeSettings
from shared.bus.factory import physical_topics
from shared.bus.memory import InMemoryBus
from shared.events.catalogue import TicketOpened
from shared.events.envelope import from_kafka
from shared.events.topics import KNOWLEDGE, TICKETS

NAME = "knowledge_suggest"


async def measure(articles: int, tickets: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        settings = KnowledgeSettings(
            environment="test", data_dir=Path(folder), log_level="WARNING", outbox_poll_interval_ms=50
        )
        bus = InMemoryBus(physical_topics(settings))
        runtime = build_runtime(settings, bus=bus)
        await runtime.start()
        try:
            corpus = Corpus()
            documents = corpus.documents(articles)
            async with runtime.database.session() as session:
                for document in documents:
                    request = ArticleCreate(title=document.title[:300], body=document.body, status="published")
                    await article_service.create_article(session=session, request=request)
                await session.commit()
            timings = []
            for text in corpus.queries(documents, tickets):
                ticket = TicketOpened(
                    ticket_id=uuid.uuid4(),
                    customer_id=uuid.uuid4(),
                    channel="chat",
                    subject=text[:300],
                    description="",
                    priority="normal",
                    opened_at=datetime.now(UTC),
                )
                started = time.perf_counter()
                await bus.publish(TICKETS.name, [ticket.to_cloudevent()])
                while not _suggested(bus, ticket.ticket_id):  # noqa: ASYNC110 - the bus has no "record appended" hook
                    await asyncio.sleep(0.001)
                timings.append((time.perf_counter() - started) * 1000)
            return timings[min(10, len(timings) // 10) :]  # the first include building the index
        finally:
            await runtime.stop()
            await bus.stop()


def _suggested(bus: InMemoryBus, ticket_id: uuid.UUID) -> bool:
    key = str(ticket_id).encode()
    return any(
        record.key == key and from_kafka(record.value, record.headers).type.endswith("knowledge.suggested")
        for record in bus.records(KNOWLEDGE.name)  # all partitions: the newest is not necessarily last
    )


def run(quick: bool, articles: int | None = None, tickets: int | None = None) -> str:
    """The end-to-end suggestion latency table as Markdown (register it in bench/__main__.py)."""
    count, opened = articles or (500 if quick else 2000), tickets or (50 if quick else 200)
    timings = asyncio.run(measure(count, opened))
    row = [f"{count:,}", str(len(timings))] + [f"{percentile(timings, q):.1f}" for q in (50, 90, 99, 100)]
    return (
        "\n".join(
            [
                f"## {NAME}: TicketOpened published -> KnowledgeSuggested on the bus (embedded mode)",
                "",
                "| articles | tickets | p50 ms | p90 ms | p99 ms | max ms |",
                "| ---: | ---: | ---: | ---: | ---: | ---: |",
                "| " + " | ".join(row) + " |",
                "",
                "- target: well under a second; the outbox relay is woken by the commit, so no poll interval is paid.",
            ]
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--tickets", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(run(args.quick, args.articles, args.tickets))


if __name__ == "__main__":
    main()
