"""`firstcall tickets show ID`: one ticket followed across the services.

The ticket, its suggestions, its report and problem come from each service's public API; the events come
from the services' outboxes (a messaging table every service keeps alike): those about the ticket (its
subject) or its problem, and every event caused by the same work (its correlation id), whichever service
published it. Outboxes keep published events for FIRSTCALL_OUTBOX_RETENTION_HOURS (72 h by default); older
ones are only on Kafka (`firstcall events tail --subject`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError, OperationalError

from services.ops import render
from services.ops.api import ServiceApi
from services.ops.database import open_database
from services.ops.errors import NotFound, OpsError, Unreachable, UsageError
from shared.messaging.tables import outbox
from shared.sealing import shown_sealed

MAX_EVENTS_PER_SERVICE = 500


@dataclass(frozen=True)
class TrailEvent:
    service: str  # whose outbox: the producer
    created_at: datetime
    published_at: datetime | None
    type: str
    subject: str
    event_id: str
    correlation_id: str | None
    data: Any


@dataclass
class TicketTrail:
    ticket_id: str
    ticket: dict[str, Any] | None = None
    suggestions: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None
    events: list[TrailEvent] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # part -> why it is missing


def ticket_uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError as exc:
        raise UsageError(f"a ticket id is a UUID, not {text!r}") from exc


async def _answer(trail: TicketTrail, part: str, api: ServiceApi, path: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await api.get(path)
    except NotFound:
        trail.unavailable[part] = f"the {api.service} has none"
        return None
    except OpsError as exc:
        trail.unavailable[part] = str(exc)
        return None
    return found


async def _outbox_rows(database_url: str, subjects: Sequence[str], correlations: Sequence[str]) -> list[Any]:
    conditions = [outbox.c.subject.in_(subjects)] if subjects else []
    # The envelope is stored as bytes: PostgreSQL's bytea and SQLite's blob both take LIKE on bytes.
    like = outbox.c.envelope.op("LIKE", is_comparison=True)
    conditions += [like(f'%"correlationid":"{cid}"%'.encode()) for cid in correlations]
    if not conditions:
        return []
    statement = select(outbox).where(or_(*conditions)).order_by(outbox.c.seq).limit(MAX_EVENTS_PER_SERVICE)
    async with open_database(database_url) as database, database.engine.connect() as conn:
        return list((await conn.execute(statement)).all())


def _trail_event(service: str, row: Any) -> TrailEvent:
    envelope = orjson.loads(row.envelope)
    return TrailEvent(
        service,
        row.created_at,
        row.published_at,
        row.event_type,
        row.subject,
        row.event_id,
        envelope.get("correlationid"),
        shown_sealed(envelope.get("data")),  # customers' sealed fields read as sealed (decision 0031)
    )


async def _events(
    trail: TicketTrail, outboxes: Mapping[str, str], subjects: Sequence[str], correlations: Sequence[str]
) -> list[TrailEvent]:
    found: list[TrailEvent] = []
    for service, url in outboxes.items():
        try:
            rows = await _outbox_rows(url, subjects, correlations)
        except (OperationalError, DBAPIError, OSError) as exc:
            trail.unavailable[f"{service} outbox"] = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            continue
        events = [_trail_event(service, row) for row in rows]
        # LIKE found candidates; only an exact correlation id or subject counts.
        found += [e for e in events if e.subject in subjects or e.correlation_id in correlations]
    return found


async def follow_ticket(
    *, ticket_id: str, router: ServiceApi, knowledge: ServiceApi, notifier: ServiceApi, outboxes: Mapping[str, str]
) -> TicketTrail:
    """Everything the services say of one ticket; parts that cannot be read are named in `unavailable`."""
    trail = TicketTrail(ticket_uuid(ticket_id))
    tid = trail.ticket_id
    trail.ticket = await _answer(trail, "ticket", router, f"/v1/tickets/{tid}")
    trail.suggestions = await _answer(trail, "suggestions", knowledge, f"/v1/tickets/{tid}/suggestions")
    trail.report = await _answer(trail, "report", notifier, f"/v1/reports/{tid}")
    problem_id = (trail.report or {}).get("problem_id")
    if problem_id:
        trail.problem = await _answer(trail, "problem", notifier, f"/v1/problems/{problem_id}")
    subjects = [tid, *([str(problem_id)] if problem_id else [])]
    own = await _events(trail, outboxes, subjects, [])
    # The work the router did on the ticket (opening, assigning, resolving) and whatever it caused elsewhere;
    # not the work of other tickets that merely touched this one (a problem's growth re-suggesting for it).
    correlations = sorted(
        {e.correlation_id for e in own if e.subject == tid and e.service == "router" and e.correlation_id}
    )
    seen = {e.event_id for e in own}
    caused = [e for e in await _events(trail, outboxes, [], correlations) if e.event_id not in seen]
    trail.events = sorted([*own, *caused], key=lambda e: e.created_at)
    if trail.ticket is None and not trail.events:
        if any("did not answer" in why for why in trail.unavailable.values()):
            raise Unreachable(f"ticket {tid}: " + "; ".join(f"{k}: {v}" for k, v in trail.unavailable.items()))
        raise NotFound(f"no ticket {tid}: the router does not know it and no outbox holds an event about it")
    return trail


def trail_text(trail: TicketTrail) -> str:
    lines = [f"ticket {trail.ticket_id}"]
    if (t := trail.ticket) is not None:
        lines.append(
            f"  router     {t.get('status')}, {t.get('channel')}, priority {t.get('priority')}, "
            f"intent {t.get('intent') or 'unknown'}, agent {t.get('agent_id') or render.EMPTY}: {t.get('subject')}"
        )
    if (s := trail.suggestions) is not None:
        titles = ", ".join(str(a.get("title") or a.get("article_id")) for a in s.get("articles") or []) or "none"
        issue = (s.get("known_issue") or {}).get("title")
        lines.append(f"  knowledge  suggested {titles}" + (f"; known issue: {issue}" if issue else ""))
    if (r := trail.report) is not None:
        lines.append(f"  notifier   report received {r.get('received_at')}, problem {r.get('problem_id') or 'none'}")
    if (p := trail.problem) is not None:
        lines.append(
            f"             problem {p.get('status')} ({p.get('severity')}), {p.get('customer_count')} customers: "
            f"{p.get('summary_text')}"
        )
    lines += [f"  missing    {part}: {why}" for part, why in trail.unavailable.items()]
    rows = [
        (e.created_at, e.service, e.type, e.subject, "yes" if e.published_at else "pending", e.correlation_id)
        for e in trail.events
    ]
    lines += [
        "",
        render.table(("time", "by", "event", "subject", "on kafka", "correlation"), rows) if rows else "no events",
    ]
    return "\n".join(lines)
