"""Every Kafka topic firstcall uses, declared once with its partitions and retention.

Topics are created by `ensure_topics` (the broker's auto-create is off), so a typo in a topic name fails
loudly instead of silently creating a stream nobody reads. The in-memory bus uses the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    description: str
    compacted: bool = False  # keep the latest record per key forever (state, not history)

    def configs(self) -> dict[str, str]:
        """Broker-side topic configuration."""
        if self.compacted:
            return {"cleanup.policy": "compact"}
        return {"retention.ms": str(self.retention_ms)}

    def binding_configuration(self) -> dict[str, int | list[str]]:
        """The same configuration typed as AsyncAPI's Kafka channel binding wants it (0.5.0)."""
        if self.compacted:
            return {"cleanup.policy": ["compact"]}
        return {"retention.ms": self.retention_ms}


# Partitions bound how many replicas of a consumer group can share the work: 6 leaves room to scale out.
TICKETS = TopicSpec("firstcall.tickets", 6, 7 * DAY_MS, "Ticket lifecycle events, keyed by ticket id.")
CUSTOMERS = TopicSpec(
    "firstcall.customers", 6, 30 * DAY_MS, "Customer, identity, merge, ownership and order events, by customer id."
)
AGENTS = TopicSpec("firstcall.agents", 3, 7 * DAY_MS, "Agent registration and status events, by agent id.")
RESOLUTIONS = TopicSpec(
    "firstcall.resolutions", 6, 30 * DAY_MS, "Credits, refunds, returns, replacements, approvals, by ticket id."
)
KNOWLEDGE = TopicSpec(
    "firstcall.knowledge", 6, 7 * DAY_MS, "Article, known-issue and suggestion events, by article/issue/ticket id."
)
PROBLEMS = TopicSpec("firstcall.problems", 3, 30 * DAY_MS, "Problem lifecycle events, keyed by problem id.")
NOTIFICATIONS = TopicSpec(
    "firstcall.notifications", 3, 30 * DAY_MS, "Customers told about problems, keyed by customer id."
)

# Compacted: a service that starts later still finds every key's latest state (issued or revoked).
COMMERCE = TopicSpec(
    "firstcall.commerce.orders", 3, 30 * DAY_MS, "Orders reported by commerce systems (inbound), by order ref."
)
ACCESS = TopicSpec("firstcall.access", 1, 0, "API keys issued and revoked, keyed by key id.", compacted=True)

# Ops' record of dead letters replayed (`firstcall dead-letters replay`, services/ops/replay.py), keyed by letter
# id: compacted, so each letter's latest mark stays as long as the topic, and a letter is replayed once.
DEAD_LETTERS_REPLAYED = TopicSpec(
    "firstcall.dead-letters.replayed",
    1,
    0,
    "Dead letters replayed to their origin topic, keyed by letter id (written by `firstcall dead-letters replay`).",
    compacted=True,
)

# One consumer group per service (and the helpdesk bridge); its poison messages go to its own
# dead-letter topic.
CONSUMER_GROUPS = ("router", "knowledge", "notifier", "helpdesk")


def dead_letter_topic(group: str) -> TopicSpec:
    """The dead-letter topic of a consumer group: kept twice as long, so ops have time to replay."""
    return TopicSpec(f"firstcall.dlt.{group}", 1, 14 * DAY_MS, f"Events the {group} consumer group failed to handle.")


def all_topics() -> list[TopicSpec]:
    """Every topic the system needs, in a stable order."""
    domain = [TICKETS, CUSTOMERS, AGENTS, RESOLUTIONS, KNOWLEDGE, PROBLEMS, NOTIFICATIONS, COMMERCE, ACCESS]
    return [*domain, *(dead_letter_topic(group) for group in CONSUMER_GROUPS), DEAD_LETTERS_REPLAYED]
