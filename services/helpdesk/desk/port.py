"""The port: what the bridge needs from a helpdesk. Request Tracker is one adapter; another helpdesk is another.

Tickets and users are the helpdesk's own (numeric ids, user names); the bridge keeps the mapping to
firstcall's. A change is one entry of a ticket's history, in the order the helpdesk recorded it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ChangeKind = Literal["reply", "comment", "owner", "status", "field", "other"]
INACTIVE_STATUSES = frozenset({"resolved", "rejected", "deleted"})


class HelpdeskUnavailable(Exception):
    """The helpdesk cannot be reached or answered with an error of its own: try again later."""


class HelpdeskRejected(Exception):
    """The helpdesk refused this request (invalid, forbidden or unknown): trying again will not help."""


@dataclass(frozen=True)
class NewTicket:
    queue: str
    requestor: str  # empty: nobody (a feedback ticket is the owner's, no customer is written to)
    subject: str
    text: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeskTicket:
    id: int
    queue: str
    owner: str | None  # None: nobody owns it
    status: str
    fields: Mapping[str, str | None]
    updated_at: datetime

    @property
    def active(self) -> bool:
        return self.status not in INACTIVE_STATUSES


@dataclass(frozen=True)
class TicketChanges:
    """What the bridge asks to change on a ticket; None leaves a part as it is."""

    owner: str | None = None
    unowned: bool = False  # give the ticket to nobody
    status: str | None = None
    queue: str | None = None
    fields: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            self.owner is None and not self.unowned and self.status is None and self.queue is None and not self.fields
        )


@dataclass(frozen=True)
class Comment:
    subject: str
    text: str
    html: bool = False


@dataclass(frozen=True)
class Change:
    """One entry of a ticket's history. Owners are user names (None: nobody); fields go by name."""

    id: int
    ticket_id: int
    kind: ChangeKind
    author: str
    at: datetime
    field: str | None = None
    old: str | None = None
    new: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class ChangedTicket:
    id: int
    updated_at: datetime


@dataclass(frozen=True)
class ChangedTickets:
    tickets: Sequence[ChangedTicket]
    complete: bool  # False: more tickets changed than were returned; ask again from the last one
    now: datetime  # the helpdesk's clock when it answered (changes must settle against it)


class Helpdesk(ABC):
    """A helpdesk as the bridge uses it: tickets, their owners, status and fields, comments, and history."""

    integration_user: str  # the bridge's own user there: its changes are never read back as an agent's

    @abstractmethod
    async def find_ticket(self, *, firstcall_ticket: str) -> int | None:
        """The helpdesk ticket created for a firstcall ticket, if any (how creation stays idempotent)."""

    @abstractmethod
    async def create_ticket(self, ticket: NewTicket) -> int: ...

    @abstractmethod
    async def read_ticket(self, ticket_id: int) -> DeskTicket: ...

    @abstractmethod
    async def change_ticket(self, ticket_id: int, changes: TicketChanges) -> None: ...

    @abstractmethod
    async def add_comment(self, ticket_id: int, comment: Comment) -> None:
        """An internal comment (agents see it, the customer does not)."""

    @abstractmethod
    async def has_comment(self, ticket_id: int, *, marker: str, after: int) -> bool:
        """Whether a comment whose subject carries `marker` was added after change `after`."""

    @abstractmethod
    async def changed_tickets(self, *, since: datetime, limit: int, page: int = 1) -> ChangedTickets:
        """Tickets carrying a firstcall ticket id updated at or after `since`, oldest update first, by pages."""

    @abstractmethod
    async def changes(self, ticket_id: int, *, after: int, limit: int) -> Sequence[Change]:
        """The ticket's history after change `after`, oldest first."""

    @abstractmethod
    async def change_text(self, change: Change) -> str:
        """The text of a reply or comment."""

    @abstractmethod
    async def last_change_id(self, ticket_id: int) -> int: ...

    @abstractmethod
    async def user_exists(self, name: str) -> bool: ...

    @abstractmethod
    def ticket_url(self, ticket_id: int) -> str:
        """Where a person opens the ticket in the helpdesk."""

    async def find_ticket_by(self, *, field: str, value: str) -> int | None:
        """The helpdesk ticket whose firstcall field `field` holds `value` (a feedback ticket by its cluster).
        A helpdesk without it cannot show feedback."""
        raise HelpdeskRejected(f"{type(self).__name__} cannot find tickets by a firstcall field")

    async def changed_tickets_with(self, *, field: str, since: datetime, limit: int, page: int = 1) -> ChangedTickets:
        """As `changed_tickets`, for the tickets carrying firstcall field `field` (feedback tickets)."""
        raise HelpdeskRejected(f"{type(self).__name__} cannot list tickets by a firstcall field")

    async def erase_personal_data(self, ticket_id: int, *, erased: str) -> None:
        """Blank what the helpdesk's API lets a client blank of a customer on a ticket (right to erasure):
        its subject, and its requestors' addresses and names. A helpdesk without that refuses."""
        raise HelpdeskRejected(f"{type(self).__name__} cannot erase personal data through its API")

    async def aclose(self) -> None:
        return None
