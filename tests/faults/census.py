"""What each service holds of one phase, read straight from their databases (the campaign's own cluster).

Read-only queries on the services' tables: tickets in the router (and how many per Idempotency-Key), reports
in the notifier, suggestion records in knowledge, the ledger per credited ticket, the decided and sent
notices of the phase's problem with the problem's own counts, and the events still waiting in each outbox.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.events.topics import CONSUMER_GROUPS, dead_letter_topic
from tests.faults.infra import SERVICES, OwnPostgres


@dataclass(frozen=True)
class ProblemCounts:
    status: str
    report_count: int  # as kept on the problem row, report by report
    customer_count: int
    reports: int  # as counted from the reports in it
    customers: int


@dataclass
class Census:
    tickets_per_key: Counter[str] = field(default_factory=Counter)
    reports: int = 0
    suggestions: int = 0
    suggestions_at_router: int = 0
    ledger_per_ticket: Counter[str] = field(default_factory=Counter)
    notices: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (customer, kind, status) -> rows
    problem: ProblemCounts | None = None
    outbox_pending: dict[str, int] = field(default_factory=dict)

    @property
    def in_router(self) -> int:
        return sum(self.tickets_per_key.values())


async def take_census(
    postgres: OwnPostgres,
    *,
    phase: str,
    ticket_ids: list[str],
    credited: list[str],
    problem_id: str | None,
) -> Census:
    census = Census()
    ids = [uuid.UUID(i) for i in ticket_ids]
    connections = {service: await asyncpg.connect(postgres.dsn(service), timeout=5) for service in SERVICES}
    try:
        router, knowledge, notifier = (connections[s] for s in SERVICES)
        rows = await router.fetch(
            "SELECT attributes::json->>'fault_key' AS key, count(*) AS n FROM tickets"
            " WHERE attributes::json->>'fault_phase' = $1 GROUP BY 1",
            phase,
        )
        census.tickets_per_key.update({row["key"]: row["n"] for row in rows})
        census.suggestions_at_router = await router.fetchval(
            "SELECT count(*) FROM ticket_knowledge WHERE ticket_id = ANY($1)", ids
        )
        rows = await router.fetch(
            "SELECT ticket_id, count(*) AS n FROM ledger_entries WHERE ticket_id = ANY($1) GROUP BY 1",
            [uuid.UUID(i) for i in credited],
        )
        census.ledger_per_ticket.update({str(row["ticket_id"]): row["n"] for row in rows})
        census.reports = await notifier.fetchval("SELECT count(*) FROM reports WHERE ticket_id = ANY($1)", ids)
        census.suggestions = await knowledge.fetchval(
            "SELECT count(*) FROM ticket_suggestions WHERE ticket_id = ANY($1) AND computed_at IS NOT NULL", ids
        )
        if problem_id is not None:
            await _problem(notifier, census, uuid.UUID(problem_id))
        for service, connection in connections.items():
            census.outbox_pending[service] = await connection.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
    finally:
        for connection in connections.values():
            await connection.close()
    return census


async def _problem(notifier: asyncpg.Connection, census: Census, problem_id: uuid.UUID) -> None:
    rows = await notifier.fetch(
        "SELECT customer_id, notification_kind, status, count(*) AS n FROM deliveries"
        " WHERE problem_id = $1 AND customer_id IS NOT NULL GROUP BY 1, 2, 3",
        problem_id,
    )
    census.notices.update({(str(r["customer_id"]), r["notification_kind"], r["status"]): r["n"] for r in rows})
    kept = await notifier.fetchrow(
        "SELECT status, report_count, customer_count FROM problems WHERE id = $1", problem_id
    )
    counted = await notifier.fetchrow(
        "SELECT count(*) AS reports, count(DISTINCT customer_id) AS customers FROM reports WHERE cluster_id = $1",
        problem_id,
    )
    census.problem = ProblemCounts(
        kept["status"], kept["report_count"], kept["customer_count"], counted["reports"], counted["customers"]
    )


def problem_in(picture: dict[str, tuple[str, str]], ticket_ids: list[str]) -> str | None:
    """The open (or already resolved) problem holding every one of these tickets' reports, if there is one."""
    clusters = set(picture.values())
    if len(picture) < len(ticket_ids) or len(clusters) != 1:
        return None
    [(cluster_id, status)] = clusters
    return cluster_id if cluster_id != "-" and status in ("open", "resolved") else None


async def clusters_of(postgres: OwnPostgres, ticket_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each ticket's report: the cluster it is in and that cluster's status ("-" when in none)."""
    connection = await asyncpg.connect(postgres.dsn("notifier"), timeout=5)
    try:
        rows = await connection.fetch(
            "SELECT r.ticket_id, r.cluster_id, p.status FROM reports r LEFT JOIN problems p ON p.id = r.cluster_id"
            " WHERE r.ticket_id = ANY($1)",
            [uuid.UUID(i) for i in ticket_ids],
        )
    finally:
        await connection.close()
    return {str(row["ticket_id"]): (str(row["cluster_id"] or "-"), row["status"] or "-") for row in rows}


async def dead_lettered(bootstrap: str, prefix: str) -> int:
    """Records on the consumer groups' dead-letter topics: events a service gave up on (ops must replay them)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(prefix + dead_letter_topic(group).name, 0) for group in CONSUMER_GROUPS]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return sum(ends.values())
    finally:
        await consumer.stop()
