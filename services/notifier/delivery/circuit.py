"""A circuit breaker per endpoint, kept in the database so every replica respects the same pause.

Closed: deliveries go. After `threshold` consecutive failures it opens: nothing is sent to that endpoint
until the pause ends (deliveries wait without spending their retry budget). Then one trial goes out
(half-open): success closes the circuit, failure re-opens it for twice as long, up to a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery.models import EndpointCircuit
from shared.db import insert_ignoring_duplicates

MAX_OPEN_SECONDS = 3600.0


@dataclass(frozen=True)
class CircuitPolicy:
    threshold: int
    open_seconds: float


def endpoint_of(channel: str, target: str, smtp_server: str) -> str:
    """The unit a circuit protects: a receiver's origin, or the SMTP server for every email."""
    if channel == "email":
        return smtp_server
    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.netloc}"


async def paused_until(*, session: AsyncSession, endpoint: str, now: datetime) -> datetime | None:
    """When the endpoint's pause ends, or None if deliveries may go now."""
    circuit = await session.get(EndpointCircuit, endpoint)
    if circuit is None or circuit.opened_until is None or circuit.opened_until <= now:
        return None
    return circuit.opened_until


async def record_success(*, session: AsyncSession, endpoint: str) -> None:
    """A delivery got through: the endpoint is healthy again."""
    circuit = await session.get(EndpointCircuit, endpoint)
    if circuit is not None and (circuit.consecutive_failures or circuit.opened_until):
        circuit.consecutive_failures = 0
        circuit.opened_until = None
        circuit.open_seconds = 0.0
        circuit.updated_at = datetime.now(UTC)


async def record_failure(*, session: AsyncSession, endpoint: str, policy: CircuitPolicy, now: datetime) -> bool:
    """Count a failure; True when it opened (or re-opened) the circuit."""
    # Replicas fail against the same endpoint at once: create the row race-free, then count under its lock.
    await insert_ignoring_duplicates(
        session,
        EndpointCircuit.__table__,  # type: ignore[arg-type]
        {"endpoint": endpoint, "consecutive_failures": 0, "open_seconds": 0.0, "updated_at": now},
    )
    circuit = await session.get(EndpointCircuit, endpoint, with_for_update=True, populate_existing=True)
    assert circuit is not None
    circuit.consecutive_failures += 1
    circuit.updated_at = now
    half_open_trial_failed = circuit.open_seconds > 0
    if circuit.consecutive_failures < policy.threshold and not half_open_trial_failed:
        return False
    pause = min(circuit.open_seconds * 2, MAX_OPEN_SECONDS) if half_open_trial_failed else policy.open_seconds
    circuit.open_seconds = pause
    circuit.opened_until = now + timedelta(seconds=pause)
    return True
