"""A Request Tracker in memory, behind the bridge's own port: tickets, their history, and agents acting.

It records every write the bridge makes (so tests can count effects), can be switched off (an outage),
and can fail right after a write took effect (the bridge killed between RT's answer and its commit).
Agents act on it as they would in RT's web form: each action is one or more history entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count

from services.helpdesk.desk.port import (
    Change,
    ChangedTicket,
    ChangedTickets,
    ChangeKind,
    Comment,
    DeskTicket,
    Helpdesk,
    HelpdeskRejected,
    HelpdeskUnavailable,
    NewTicket,
    TicketChanges,
)

BRIDGE = "firstcall-bridge"


class KilledAfterWrite(Exception):
    """The bridge 'dies' right after RT took the write: the test then runs the worker again."""


@dataclass
class FakeTicket:
    id: int
    queue: str
    requestor: str
    subject: str
    text: str
    owner: str | None = None
    status: str = "new"
    fields: dict[str, str | None] = field(default_factory=dict)
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    texts: dict[int, str] = field(default_factory=dict)


class FakeRT(Helpdesk):
    def __init__(self, *, users: Sequence[str] = (), queues: Sequence[str] = ("firstcall",)) -> None:
        self.integration_user = BRIDGE
        self.users = {BRIDGE, *users}
        self.queues = set(queues)
        self.tickets: dict[int, FakeTicket] = {}
        self.history: list[Change] = []
        self.down = False
        self.hidden: set[int] = set()  # tickets whose history RT refuses to show (deleted, rights taken away)
        self.kill_after: set[str] = set()  # operation names that 'kill the bridge' once after writing
        self.writes: list[tuple[str, int]] = []
        self._ids, self._changes = count(1), count(1)

    # What the bridge calls.
    async def find_ticket(self, *, firstcall_ticket: str) -> int | None:
        self._reachable()
        return next((t.id for t in self.tickets.values() if t.fields.get("ticket") == firstcall_ticket), None)

    async def create_ticket(self, ticket: NewTicket) -> int:
        self._reachable()
        if ticket.queue not in self.queues:
            raise HelpdeskRejected(f"no queue {ticket.queue}")
        created = FakeTicket(next(self._ids), ticket.queue, ticket.requestor, ticket.subject, ticket.text)
        self.tickets[created.id] = created
        self._record(created, BRIDGE, "other")
        for name, value in ticket.fields.items():
            self._set_field(created, BRIDGE, name, value)
        self._wrote("create_ticket", created.id)
        return created.id

    async def read_ticket(self, ticket_id: int) -> DeskTicket:
        self._reachable()
        t = self._ticket(ticket_id)
        return DeskTicket(t.id, t.queue, t.owner, t.status, dict(t.fields), t.updated_at)

    async def change_ticket(self, ticket_id: int, changes: TicketChanges) -> None:
        self._reachable()
        ticket = self._ticket(ticket_id)
        if changes.owner is not None or changes.unowned:
            if changes.owner is not None and changes.owner not in self.users:
                raise HelpdeskRejected(f"no user {changes.owner}")
            self.set_owner(ticket_id, BRIDGE, changes.owner)
        if changes.status is not None:
            self.set_status(ticket_id, BRIDGE, changes.status)
        if changes.queue is not None:
            ticket.queue = changes.queue
        for name, value in changes.fields.items():
            self._set_field(ticket, BRIDGE, name, value)
        self._wrote("change_ticket", ticket_id)

    async def add_comment(self, ticket_id: int, comment: Comment) -> None:
        self._reachable()
        self.comment(ticket_id, BRIDGE, comment.text, subject=comment.subject)
        self._wrote("add_comment", ticket_id)

    async def has_comment(self, ticket_id: int, *, marker: str, after: int) -> bool:
        self._reachable()
        return any(
            c.ticket_id == ticket_id and c.id > after and c.kind == "comment" and marker in (c.subject or "")
            for c in self.history
        )

    async def changed_tickets(self, *, since: datetime, limit: int, page: int = 1) -> ChangedTickets:
        self._reachable()
        changed = sorted((t for t in self.tickets.values() if t.updated_at >= since), key=lambda t: t.updated_at)
        window = changed[(page - 1) * limit : page * limit]
        complete = page * limit >= len(changed)
        return ChangedTickets([ChangedTicket(t.id, t.updated_at) for t in window], complete, datetime.now(UTC))

    async def changes(self, ticket_id: int, *, after: int, limit: int) -> Sequence[Change]:
        self._reachable()
        if ticket_id in self.hidden:
            raise HelpdeskRejected(f"403 ticket {ticket_id}")
        return [c for c in self.history if c.ticket_id == ticket_id and c.id > after][:limit]

    async def change_text(self, change: Change) -> str:
        self._reachable()
        return self._ticket(change.ticket_id).texts.get(change.id, "")

    async def last_change_id(self, ticket_id: int) -> int:
        self._reachable()
        return max((c.id for c in self.history if c.ticket_id == ticket_id), default=0)

    async def user_exists(self, name: str) -> bool:
        self._reachable()
        return name in self.users

    def ticket_url(self, ticket_id: int) -> str:
        return f"http://rt.test/Ticket/Display.html?id={ticket_id}"

    # What agents (and customers) do in RT.
    def reply(self, ticket_id: int, author: str, text: str) -> None:
        change = self._record(self._ticket(ticket_id), author, "reply")
        self._ticket(ticket_id).texts[change.id] = text

    def comment(self, ticket_id: int, author: str, text: str, *, subject: str = "") -> None:
        change = self._record(self._ticket(ticket_id), author, "comment", subject=subject)
        self._ticket(ticket_id).texts[change.id] = text

    def set_owner(self, ticket_id: int, author: str, owner: str | None) -> None:
        ticket = self._ticket(ticket_id)
        old, ticket.owner = ticket.owner, owner
        self._record(ticket, author, "owner", field_name="Owner", old=old, new=owner)

    def set_status(self, ticket_id: int, author: str, status: str) -> None:
        ticket = self._ticket(ticket_id)
        old, ticket.status = ticket.status, status
        self._record(ticket, author, "status", field_name="Status", old=old, new=status)

    def set_fields(self, ticket_id: int, author: str, **values: str | None) -> None:
        for name, value in values.items():
            self._set_field(self._ticket(ticket_id), author, name.replace("_", " "), value)

    # What tests look at.
    def comments(self, ticket_id: int, *, by: str = BRIDGE) -> list[str]:
        ticket = self._ticket(ticket_id)
        return [
            ticket.texts[c.id]
            for c in self.history
            if c.ticket_id == ticket_id and c.kind == "comment" and c.author == by
        ]

    def only_ticket(self) -> FakeTicket:
        [ticket] = self.tickets.values()
        return ticket

    def _set_field(self, ticket: FakeTicket, author: str, name: str, value: str | None) -> None:
        old, ticket.fields[name] = ticket.fields.get(name), value
        self._record(ticket, author, "field", field_name=name, old=old, new=value)

    def _record(
        self,
        ticket: FakeTicket,
        author: str,
        kind: ChangeKind,
        *,
        field_name: str | None = None,
        old: str | None = None,
        new: str | None = None,
        subject: str | None = None,
    ) -> Change:
        now = datetime.now(UTC)
        change = Change(next(self._changes), ticket.id, kind, author, now, field_name, old, new, subject)
        self.history.append(change)
        ticket.updated_at = now
        return change

    def _ticket(self, ticket_id: int) -> FakeTicket:
        if ticket_id not in self.tickets:
            raise HelpdeskRejected(f"no ticket {ticket_id}")
        return self.tickets[ticket_id]

    def _reachable(self) -> None:
        if self.down:
            raise HelpdeskUnavailable("RT is down (fake)")

    def _wrote(self, operation: str, ticket_id: int) -> None:
        self.writes.append((operation, ticket_id))
        if operation in self.kill_after:
            self.kill_after.discard(operation)
            raise KilledAfterWrite(f"killed after {operation} on RT ticket {ticket_id}")
