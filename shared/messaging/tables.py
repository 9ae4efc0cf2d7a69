"""Tables every service keeps in its own database: reliable messaging, idempotent writes, API keys.

They live in their own MetaData: each service's Alembic environment migrates them beside its domain tables
(`target_metadata = [Base.metadata, messaging_metadata]`), and no service's ORM registry sees another's.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from shared.db import UtcDateTime

messaging_metadata = MetaData()

# BIGINT on PostgreSQL, but INTEGER on SQLite: only `INTEGER PRIMARY KEY` is SQLite's auto-increment rowid.
_SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    messaging_metadata,
    Column("seq", _SEQUENCE, primary_key=True, autoincrement=True, comment="publication order"),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("topic", String(255), nullable=False, comment="declared topic name, before any prefix"),
    Column("event_type", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("envelope", LargeBinary, nullable=False, comment="the CloudEvent as structured JSON"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
)
# The relay only ever looks for unpublished rows; a partial index keeps that lookup small forever.
Index(
    "ix_outbox_unpublished",
    outbox.c.seq,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)
Index("ix_outbox_published_at", outbox.c.published_at)

inbox = Table(
    "inbox",
    messaging_metadata,
    Column("consumer_group", String(100), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("event_type", String(255), nullable=False),
    Column("handled_at", UtcDateTime(), nullable=False, index=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    messaging_metadata,
    Column("scope", String(255), primary_key=True, comment="who and which operation: key owner + route"),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False, comment="sha256 of the canonical request"),
    Column("status_code", Integer, nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, index=True),
)

# Issued by the router, copied into every service from ApiKeyIssued/ApiKeyRevoked events. Only a keyed
# hash is stored: a leaked table (or topic) does not give anyone a usable key.
api_keys = Table(
    "api_keys",
    messaging_metadata,
    Column("key_id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("scopes", String(200), nullable=False, comment="comma-separated"),
    Column("agent_id", String(36), nullable=True, comment="the agent an agent-scoped key acts as"),
    Column("rate_limit_per_minute", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

# Requests per API key per one-minute window, one row per replica: each replica writes only its own rows
# (absolute counts, so a retried write is harmless) and reads the sums, which is how a key's rate limit
# holds across replicas. Rows older than the previous window are pruned.
rate_limit_counts = Table(
    "rate_limit_counts",
    messaging_metadata,
    Column("key_id", String(32), primary_key=True),
    Column("window_start", BigInteger, primary_key=True, comment="unix seconds, a multiple of 60"),
    Column("replica_id", String(32), primary_key=True, comment="one process; new at every start"),
    Column("count", Integer, nullable=False),
    Index("ix_rate_limit_counts_window_start", "window_start"),
)
