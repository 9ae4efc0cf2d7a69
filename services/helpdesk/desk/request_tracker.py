"""The Request Tracker adapter: RT 5's REST 2.0 over httpx (no GPL client library in the product).

Custom fields are named `firstcall <name>` in RT (`firstcall ticket`, `firstcall resolution`...); the bridge
speaks of `ticket`, `resolution`. Owner changes come back from RT as user ids and custom field changes as
field ids; both are turned into names here, once per id.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

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

FIELD_PREFIX = "firstcall "
NOBODY = "Nobody"
_HISTORY_FIELDS = "Type,Field,OldValue,NewValue,Data,Creator,Created"
_TAGS = re.compile(r"<[^>]+>")
_USER_PERSONAL_FIELDS = (
    "EmailAddress", "NickName", "Organization", "Address1", "Address2", "City", "State", "Zip", "Country",
    "HomePhone", "WorkPhone", "MobilePhone", "PagerPhone", "Comments", "Signature", "Lang",
)  # fmt: skip


class RequestTracker(Helpdesk):
    def __init__(self, *, base_url: str, token: str, user: str, timeout: float, transport: Any = None) -> None:
        self.integration_user = user
        self.web_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=f"{self.web_url}/REST/2.0/",
            headers={"Authorization": f"token {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._user_names: dict[int, str] = {}
        self._field_names: dict[int, str] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    def ticket_url(self, ticket_id: int) -> str:
        return f"{self.web_url}/Ticket/Display.html?id={ticket_id}"

    async def find_ticket(self, *, firstcall_ticket: str) -> int | None:
        return await self.find_ticket_by(field="ticket", value=firstcall_ticket)

    async def find_ticket_by(self, *, field: str, value: str) -> int | None:
        query = f"'CF.{{{FIELD_PREFIX}{field}}}' = '{_quote(value)}'"
        body = (await self._call("GET", "tickets", params={"query": query, "per_page": 1})).json()
        items = body.get("items") or []
        return int(items[0]["id"]) if items else None

    async def create_ticket(self, ticket: NewTicket) -> int:
        payload = {
            "Queue": ticket.queue,
            "Subject": ticket.subject,
            "Content": ticket.text or ticket.subject,
            "ContentType": "text/plain",
            "CustomFields": {FIELD_PREFIX + name: value for name, value in ticket.fields.items()},
        }
        if ticket.requestor:
            payload["Requestor"] = ticket.requestor
        body = (await self._call("POST", "ticket", json=payload)).json()
        if not isinstance(body, dict) or "id" not in body:
            raise HelpdeskRejected(f"RT did not create the ticket: {body}")
        return int(body["id"])

    async def read_ticket(self, ticket_id: int) -> DeskTicket:
        body = (await self._call("GET", f"ticket/{ticket_id}", params={"fields[Queue]": "Name"})).json()
        owner = (body.get("Owner") or {}).get("id")
        fields: dict[str, str | None] = {}
        for field in body.get("CustomFields") or []:
            name = str(field.get("name", ""))
            if name.startswith(FIELD_PREFIX):
                values = field.get("values") or []
                fields[name.removeprefix(FIELD_PREFIX)] = str(values[0]) if values else None
        return DeskTicket(
            id=int(body["id"]),
            queue=str((body.get("Queue") or {}).get("Name") or (body.get("Queue") or {}).get("id")),
            owner=None if owner in (None, NOBODY) else str(owner),
            status=str(body.get("Status")),
            fields=fields,
            updated_at=_time(body.get("LastUpdated")),
        )

    async def change_ticket(self, ticket_id: int, changes: TicketChanges) -> None:
        payload: dict[str, Any] = {}
        if changes.owner is not None or changes.unowned:
            payload["Owner"] = changes.owner or NOBODY
        if changes.status is not None:
            payload["Status"] = changes.status
        if changes.queue is not None:
            payload["Queue"] = changes.queue
        if changes.fields:
            payload["CustomFields"] = {FIELD_PREFIX + name: value for name, value in changes.fields.items()}
        messages = (await self._call("PUT", f"ticket/{ticket_id}", json=payload)).json()
        # RT answers 200 with one message per attempted change, refused ones included: read back to know.
        after = await self.read_ticket(ticket_id)
        refused = _unapplied(changes, after)
        if refused:
            raise HelpdeskRejected(f"RT did not change {', '.join(refused)}: {'; '.join(map(str, messages or []))}")

    async def add_comment(self, ticket_id: int, comment: Comment) -> None:
        payload = {
            "Subject": comment.subject,
            "Content": comment.text,
            "ContentType": "text/html" if comment.html else "text/plain",
        }
        await self._call("POST", f"ticket/{ticket_id}/comment", json=payload)

    async def has_comment(self, ticket_id: int, *, marker: str, after: int) -> bool:
        last = after
        while True:
            page = await self._history(ticket_id, after=last, limit=100, types=("Comment",))
            if any(marker in str(item.get("Data") or "") for item in page):
                return True
            if len(page) < 100:
                return False
            last = int(page[-1]["id"])

    async def changed_tickets(self, *, since: datetime, limit: int, page: int = 1) -> ChangedTickets:
        return await self.changed_tickets_with(field="ticket", since=since, limit=limit, page=page)

    async def changed_tickets_with(self, *, field: str, since: datetime, limit: int, page: int = 1) -> ChangedTickets:
        query = f"'CF.{{{FIELD_PREFIX}{field}}}' IS NOT NULL AND LastUpdated >= '{_sql_time(since)}'"
        params = {
            "query": query,
            "orderby": "LastUpdated",
            "order": "ASC",
            "per_page": limit,
            "page": page,
            "fields": "LastUpdated",
        }
        response = await self._call("GET", "tickets", params=params)
        body = response.json()
        tickets = [ChangedTicket(int(item["id"]), _time(item.get("LastUpdated"))) for item in body.get("items") or []]
        complete = not body.get("next_page") and len(tickets) < limit
        return ChangedTickets(tickets, complete=complete or not tickets, now=_server_time(response))

    async def changes(self, ticket_id: int, *, after: int, limit: int) -> Sequence[Change]:
        return [
            await self._change(ticket_id, item) for item in await self._history(ticket_id, after=after, limit=limit)
        ]

    async def change_text(self, change: Change) -> str:
        params = {"fields": "ContentType,Content,ContentEncoding", "per_page": 100}
        body = (await self._call("GET", f"transaction/{change.id}/attachments", params=params)).json()
        parts = [(str(a.get("ContentType") or ""), _content(a)) for a in body.get("items") or []]
        for wanted in ("text/plain", "text/html"):
            for content_type, content in parts:
                if content_type.startswith(wanted) and content.strip():
                    return _plain(content) if wanted == "text/html" else content.strip()
        return ""

    async def last_change_id(self, ticket_id: int) -> int:
        # per_page=1 is not enough: RT 5.0.3 answered it with no item for a ticket whose only transaction
        # was its creation.
        params = {"orderby": "id", "order": "DESC", "per_page": 20}
        body = (await self._call("GET", f"ticket/{ticket_id}/history", params=params)).json()
        items = body.get("items") or []
        return int(items[0]["id"]) if items else 0

    async def user_exists(self, name: str) -> bool:
        try:
            body = (await self._call("GET", f"user/{_path(name)}")).json()
        except HelpdeskRejected:
            return False
        return isinstance(body, dict) and "id" in body

    async def erase_personal_data(self, ticket_id: int, *, erased: str) -> None:
        # REST 2.0 edits what is current; the history keeps old values until rt-shredder removes them.
        ticket = (await self._call("GET", f"ticket/{ticket_id}")).json()
        if ticket.get("Subject") != erased:
            await self._call("PUT", f"ticket/{ticket_id}", json={"Subject": erased})
        for requestor in ticket.get("Requestor") or []:
            if requestor.get("type") == "user" and requestor.get("id"):
                await self._erase_user(str(requestor["id"]), erased=erased)

    async def _erase_user(self, name: str, *, erased: str) -> None:
        user = (await self._call("GET", f"user/{_path(name)}")).json()
        if not isinstance(user, dict) or "id" not in user:
            raise HelpdeskRejected(f"RT has no user {name!r} to erase")
        # The name is the address for users RT created from an email; the numeric id keeps it unique.
        blank = dict.fromkeys(_USER_PERSONAL_FIELDS, "")
        changes = {**blank, "Name": f"erased-{user['id']}", "RealName": erased, "Disabled": 1}
        await self._call("PUT", f"user/{user['id']}", json=changes)

    async def _history(
        self, ticket_id: int, *, after: int, limit: int, types: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        conditions: list[dict[str, Any]] = [{"field": "id", "operator": ">", "value": after}]
        conditions += [{"field": "Type", "value": kind} for kind in types]
        params = {"fields": _HISTORY_FIELDS, "orderby": "id", "order": "ASC", "per_page": limit}
        body = (await self._call("POST", f"ticket/{ticket_id}/history", params=params, json=conditions)).json()
        items: list[dict[str, Any]] = body.get("items") or []
        return items

    async def _change(self, ticket_id: int, item: Mapping[str, Any]) -> Change:
        kind, field = _kind(item), item.get("Field")
        old, new = _text(item.get("OldValue")), _text(item.get("NewValue"))
        if kind == "owner":
            old, new = await self._user_name(old), await self._user_name(new)
        elif kind == "field":
            name = await self._field_name(int(field or 0))
            kind, field = (
                ("field", name.removeprefix(FIELD_PREFIX)) if name.startswith(FIELD_PREFIX) else ("other", name)
            )
        return Change(
            id=int(item["id"]),
            ticket_id=ticket_id,
            kind=kind,
            author=str((item.get("Creator") or {}).get("id") or ""),
            at=_time(item.get("Created")),
            field=str(field) if field else None,
            old=old,
            new=new,
            subject=_text(item.get("Data")),
        )

    async def _user_name(self, user_id: str | None) -> str | None:
        if not user_id or not user_id.isdigit():
            return None if user_id in (None, "", NOBODY) else user_id
        key = int(user_id)
        if key not in self._user_names:
            body = (await self._call("GET", f"user/{key}")).json()
            self._user_names[key] = str(body.get("Name") or key)
        name = self._user_names[key]
        return None if name == NOBODY else name

    async def _field_name(self, field_id: int) -> str:
        if field_id not in self._field_names:
            body = (await self._call("GET", f"customfield/{field_id}")).json()
            self._field_names[field_id] = str(body.get("Name") or field_id)
        return self._field_names[field_id]

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise HelpdeskUnavailable(f"RT {method} {path}: {exc!r}") from exc
        if response.status_code in (401, 403) or response.status_code >= 500 or response.status_code == 429:
            # A revoked token or a missing right is fixed by an admin, not by dropping the work: wait for it.
            raise HelpdeskUnavailable(f"RT {method} {path}: {response.status_code} {response.text[:300]}")
        if response.status_code >= 400:
            raise HelpdeskRejected(f"RT {method} {path}: {response.status_code} {response.text[:300]}")
        return response


def _kind(item: Mapping[str, Any]) -> ChangeKind:
    kind, field = item.get("Type"), item.get("Field")
    if kind == "Correspond":
        return "reply"
    if kind == "Comment":
        return "comment"
    if field == "Owner" and kind != "SetWatcher":  # RT records an owner change twice: Set, then SetWatcher
        return "owner"
    if kind == "Status" or (kind == "Set" and field == "Status"):
        return "status"
    if kind == "CustomField":
        return "field"
    return "other"


def _unapplied(changes: TicketChanges, ticket: DeskTicket) -> list[str]:
    refused = []
    if (changes.owner is not None or changes.unowned) and ticket.owner != changes.owner:
        refused.append(f"owner (is {ticket.owner or NOBODY})")
    if changes.status is not None and ticket.status != changes.status:
        refused.append(f"status (is {ticket.status})")
    if changes.queue is not None and ticket.queue != changes.queue:
        refused.append(f"queue (is {ticket.queue})")
    refused += [f"field {name}" for name, value in changes.fields.items() if ticket.fields.get(name) != value]
    return refused


def _content(attachment: Mapping[str, Any]) -> str:
    """An attachment's text: as stored (RT 5.0 gives `none`-encoded text as is), base64 decoded if so."""
    text = str(attachment.get("Content") or "")
    if str(attachment.get("ContentEncoding") or "").lower() != "base64":
        return text
    try:
        return base64.b64decode(text).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return text


def _plain(markup: str) -> str:
    return html.unescape(_TAGS.sub(" ", markup)).strip()


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _time(value: Any) -> datetime:
    if not value:
        return datetime.fromtimestamp(0, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _server_time(response: httpx.Response) -> datetime:
    header = response.headers.get("date")
    if header:
        try:
            return parsedate_to_datetime(header).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)


def _sql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _path(name: str) -> str:
    return quote(name, safe="")
