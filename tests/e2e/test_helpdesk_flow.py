"""Agents work in Request Tracker: router, knowledge, notifier and the helpdesk bridge as processes on Kafka
and PostgreSQL, and the real RT that deploy/rt.sh runs.

Contact-center software opens a ticket by phone for a customer firstcall knows by email; the ticket lands
in RT owned by the routed agent's RT user with firstcall's context comment; the agent sets the credit
fields in RT with their own token, as RT's web form does; firstcall executes the credit, counts the ticket
as resolved at first contact, and RT shows the outcome. Then three customers describe one outage in their
own words: each of their RT tickets is told of the problem, and of its resolution when ops resolve it.
Every wait is wait-until-seen with a generous timeout; nothing asserts how long anything took.
"""

from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import HelpdeskBridge, ServiceProcesses
from tests.factories import ADMIN, agent_request, order_request, ticket_request
from tests.rt_stack import rt_async_client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

WAIT = 120.0  # a loaded 2-core machine runs RT, Kafka, PostgreSQL and four services beside the test
MARKER = re.compile(r"\s*\[fc-[0-9a-f]+\]$")  # the bridge's mark on each of its comments (docs/helpdesk.md)
TRACKING_OUTAGE = (
    ("Parcel tracking page shows an error", "The tracking page for my parcel only shows an error, not where it is."),
    ("Tracking link broken", "When I open the tracking link of my parcel I get an error page instead of its status."),
    ("Can't track my parcel", "Parcel tracking fails with an error message; the tracking page won't load my parcel."),
)


async def call(client: httpx.AsyncClient, method: str, path: str, body: Any = None, **headers: str) -> Any:
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


async def rt_ticket(rt_id: int) -> dict[str, Any]:
    async with rt_async_client() as rt:
        response = await rt.get(f"ticket/{rt_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rt_field(ticket: dict[str, Any], name: str) -> str | None:
    for field in ticket.get("CustomFields") or []:
        if field.get("name") == name:
            values = field.get("values") or []
            return str(values[0]) if values else None
    return None


async def rt_comments(rt_id: int) -> list[tuple[str, str]]:
    """(subject without the bridge's marker, text without markup) of each of firstcall's comments on an RT ticket."""
    async with rt_async_client() as rt:
        response = await rt.get(
            f"ticket/{rt_id}/attachments",
            params={"fields": "Subject,Content,TransactionId", "per_page": 100, "orderby": "id"},
        )
    assert response.status_code == 200, response.text
    return [
        (
            MARKER.sub("", str(item["Subject"])).strip(),
            " ".join(unescape(re.sub(r"<[^>]+>", " ", item["Content"])).split()),
        )
        for item in response.json()["items"]
        if str(item.get("Subject") or "").startswith("firstcall: ") and item.get("Content")
    ]


async def rt_id_of(bridge: httpx.AsyncClient, ticket_id: str) -> int:
    async def created() -> int | None:
        response = await bridge.get(f"/v1/tickets/{ticket_id}/link")
        rt_id = response.json().get("rt_ticket_id") if response.status_code == 200 else None
        return int(rt_id) if rt_id else None

    return await wait_until(created, timeout=WAIT, every=0.5)


async def wait_told(rt_id: int, subject: str, *, field: str) -> None:
    """Until the RT ticket has a comment whose subject starts with `subject` and its problem field `field`."""

    async def told() -> bool:
        ticket, comments = await rt_ticket(rt_id), await rt_comments(rt_id)
        problem = rt_field(ticket, "firstcall problem")
        return problem is not None and problem.startswith(field) and any(s.startswith(subject) for s, _ in comments)

    await wait_until(told, timeout=WAIT, every=1.0)


async def test_a_phone_call_lands_in_rt_with_its_agent_and_context_and_a_credit_set_in_rt_resolves_it_first_time(
    services: ServiceProcesses, helpdesk: HelpdeskBridge
) -> None:
    run = uuid.uuid4().hex[:8]
    team, email, phone = f"e2e-desk-{run}", f"ada-{run}@example.com", f"+44 20 7946 {int(run[:4], 16) % 10_000:04d}"
    async with (
        httpx.AsyncClient(base_url=services.url("router"), headers=ADMIN, timeout=30) as router,
        httpx.AsyncClient(base_url=helpdesk.url, headers=ADMIN, timeout=30) as bridge,
    ):
        grace = await call(
            router, "POST", "/v1/agents", agent_request(display_name="Grace", team=team, capacity={"phone": 1})
        )
        try:
            rt_user, grace_token = await helpdesk.link_agent(grace["id"], "grace")
            order = await call(router, "POST", "/v1/orders", order_request(customer={"email": email, "name": "Ada"}))
            ticket = await call(
                router,
                "POST",
                "/v1/tickets",
                ticket_request(channel="phone", customer={"phone": phone, "email": email}),
                **{"Idempotency-Key": f"call-{run}"},
            )
            assert ticket["customer_id"] == order["customer_id"], "the caller is the customer known by email"
            assert ticket["agent_id"] == grace["id"], ticket
            rt_id = await rt_id_of(bridge, ticket["id"])

            async def owned_with_context() -> list[tuple[str, str]] | None:
                comments = await rt_comments(rt_id)
                owner = (await rt_ticket(rt_id))["Owner"]["id"]
                context = [text for subject, text in comments if subject == "firstcall: context for Grace"]
                return comments if owner == rt_user and context else None

            comments = await wait_until(owned_with_context, timeout=WAIT, every=1.0)
            [context] = [text for subject, text in comments if subject == "firstcall: context for Grace"]
            assert f"credit up to 50.00 EUR on order {order['external_ref']} without approval" in context
            assert f"email {email}" in context
            assert (await rt_ticket(rt_id))["Requestor"][0]["id"] == email

            credit = {
                "firstcall resolution": "credit",
                "firstcall amount": "25.00",
                "firstcall currency": "EUR",
                "firstcall order": order["external_ref"],
                "firstcall reason": "delivery two days late",
            }
            async with rt_async_client(grace_token) as as_grace:
                changed = await as_grace.put(f"ticket/{rt_id}", json={"CustomFields": credit})
            assert changed.status_code == 200, changed.text

            async def resolved() -> dict[str, Any] | None:
                current: dict[str, Any] = await call(router, "GET", f"/v1/tickets/{ticket['id']}")
                return current if current["status"] == "resolved" else None

            done = await wait_until(resolved, timeout=WAIT, every=0.5)
            assert (done["resolution_type"], done["transfers"]) == ("credit", 0)
            stats = await call(router, "GET", "/v1/stats?group_by=team")
            assert stats["groups"][team]["first_contact_resolved"] == 1
            context_now = await call(router, "GET", f"/v1/tickets/{ticket['id']}/context")
            credits = [(e["type"], e["amount"], e["agent_id"], e["order_id"]) for e in context_now["ledger"]]
            assert credits == [("credit", "25.00", grace["id"], order["id"])], "executed as Grace, on the order"

            async def rt_shows_the_outcome() -> list[tuple[str, str]] | None:
                comments = await rt_comments(rt_id)
                subjects = [subject for subject, _ in comments]
                ok = (await rt_ticket(rt_id))["Status"] == "resolved" and "firstcall: credit executed" in subjects
                return comments if ok and "firstcall: resolved" in subjects else None

            shown = await wait_until(rt_shows_the_outcome, timeout=WAIT, every=1.0)
            assert "Resolved in firstcall with credit, at first contact." in dict(shown)["firstcall: resolved"]
            assert "Ledger: credit 25.00 EUR." in dict(shown)["firstcall: credit executed"]
        finally:
            # The session's services are shared: later tests must not find Grace free to take their calls.
            await call(router, "PATCH", f"/v1/agents/{grace['id']}", {"status": "offline"})


async def test_three_customers_one_outage_in_their_words_each_rt_ticket_hears_of_the_problem_and_its_fix(
    services: ServiceProcesses, helpdesk: HelpdeskBridge
) -> None:
    run = uuid.uuid4().hex[:8]
    async with (
        httpx.AsyncClient(base_url=services.url("router"), headers=ADMIN, timeout=30) as router,
        httpx.AsyncClient(base_url=services.url("notifier"), headers=ADMIN, timeout=30) as notifier,
        httpx.AsyncClient(base_url=helpdesk.url, headers=ADMIN, timeout=30) as bridge,
    ):
        tickets = [
            await call(
                router,
                "POST",
                "/v1/tickets",
                ticket_request(
                    channel="web",
                    customer={"email": f"tracking-{i}-{run}@example.com", "name": f"Customer {i}"},
                    subject=subject,
                    description=description,
                ),
            )
            for i, (subject, description) in enumerate(TRACKING_OUTAGE)
        ]
        rt_ids = [await rt_id_of(bridge, ticket["id"]) for ticket in tickets]

        async def one_problem() -> str | None:
            reports = [await notifier.get(f"/v1/reports/{ticket['id']}") for ticket in tickets]
            problems = {r.json().get("problem_id") if r.status_code == 200 else None for r in reports}
            return str(problems.pop()) if len(problems) == 1 and None not in problems else None

        problem_id = await wait_until(one_problem, timeout=WAIT, every=1.0)

        for rt_id in rt_ids:
            await wait_told(rt_id, "firstcall: problem ", field="")

        resolution = "The carrier's tracking service is back."
        resolved = await notifier.post(
            f"/v1/problems/{problem_id}/resolve",
            json={"resolution": resolution},
            headers={"Idempotency-Key": f"resolve-{run}"},
        )
        assert resolved.status_code == 200, resolved.text
        for rt_id in rt_ids:
            await wait_told(rt_id, "firstcall: problem resolved", field=f"resolved: {resolution}")
        for rt_id in rt_ids:
            subjects = [subject for subject, _ in await rt_comments(rt_id)]
            assert sum(s in ("firstcall: problem detected", "firstcall: problem joined") for s in subjects) == 1
            assert subjects.count("firstcall: problem resolved") == 1
