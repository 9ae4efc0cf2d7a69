"""Nancy's story (docs: DESIGN "The story it exists for"), played against the running services, told as it
happens. Each step is a call contact-center software or an agent would make; what it prints is what the
services answered. The outcome is returned too, so a test can check every step."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.demo.client import DemoFailure, Services, call, until
from services.demo.contact_center import ContactCenter
from services.demo.message_desk import MessageDesk
from services.embedded import Say


@dataclass
class StoryOutcome:
    """What each step of the story ended with."""

    recognised: bool = False
    intent: str | None = None
    agent: str = ""
    history: list[str] = field(default_factory=list)
    refundable: str = ""
    allowed: list[str] = field(default_factory=list)
    credit_outcome: str = ""
    ticket_status: str = ""
    problem_customers: int = 0
    problem_reports: int = 0
    acknowledged: Counter[str] = field(default_factory=Counter)
    resolved: Counter[str] = field(default_factory=Counter)
    outage_customers: list[str] = field(default_factory=list)


async def play_story(services: Services, desk: MessageDesk, center: ContactCenter, *, tell: Say) -> StoryOutcome:
    """Nancy calls and is helped by the first agent; then three customers hit one outage and are told once."""
    outcome = StoryOutcome()
    tell("")
    tell("Nancy's story, as it happens:")
    ticket = await _the_call(services, center, outcome, tell=tell)
    await _the_credit(services, center, ticket, outcome, tell=tell)
    problem_id = await _the_outage(services, desk, center, outcome, tell=tell)
    await _the_fix(services, desk, center, problem_id, outcome, tell=tell)
    return outcome


async def _the_call(services: Services, center: ContactCenter, outcome: StoryOutcome, *, tell: Say) -> dict[str, Any]:
    nancy_call = center.seed["story"]["call"]
    tell(f'1. Nancy calls from {nancy_call["identity"]["phone"]}: "{nancy_call["description"]}"')
    ticket: dict[str, Any] = await call(
        services.router,
        "POST",
        "/v1/tickets",
        {
            "customer": nancy_call["identity"],
            "channel": nancy_call["channel"],
            "subject": nancy_call["subject"],
            "description": nancy_call["description"],
        },
        **{"Idempotency-Key": "demo-nancy-call"},
    )
    outcome.recognised = ticket["customer_id"] == center.customers["Nancy Ortiz"]
    nancy = center.seed["customers"][0]["identity"]["email"]
    if outcome.recognised:
        tell(f"   Recognised by her phone number: the profile of {nancy}, from her email last week.")
    else:
        tell("   Not recognised: a new profile was made (this should not happen).")
    outcome.intent, outcome.agent = ticket["intent"], center.agent_name(ticket["agent_id"])
    routing = await call(services.router, "GET", f"/v1/tickets/{ticket['id']}/routing")
    decision = routing["decisions"][0]
    confidence = f" (confidence {ticket['intent_confidence']:.2f})" if ticket["intent_confidence"] else ""
    tell(f"2. Classified as {ticket['intent']}{confidence} and routed to {outcome.agent}: {decision['explanation']}")
    for candidate in decision["candidates"]:
        if candidate["reasons"] and candidate["agent_id"] != ticket["agent_id"]:
            tell(f"   not {center.agent_name(candidate['agent_id'])}: {'; '.join(candidate['reasons'])}")
    return ticket


async def _the_credit(
    services: Services, center: ContactCenter, ticket: dict[str, Any], outcome: StoryOutcome, *, tell: Say
) -> None:
    agent = center.agents.get(outcome.agent)
    if agent is None:
        raise DemoFailure("Nancy's call reached no agent")
    issued = await call(
        services.router,
        "POST",
        "/v1/api-keys",
        {"name": f"demo {outcome.agent}", "scopes": ["agent"], "agent_id": agent["id"]},
    )
    as_agent = {"Authorization": f"Bearer {issued['key']}"}
    context = await call(services.router, "GET", f"/v1/tickets/{ticket['id']}/context", **as_agent)
    outcome.history = [item["summary"] for item in context["customer"]["recent_history"]]
    order = next(o for o in context["orders"] if o["order"]["external_ref"] == "APP-22817")
    outcome.refundable = f"{order['refundable']} {order['order']['currency']}"
    outcome.allowed = [action["summary"] for action in context["allowed_actions"]]
    tell(f"3. {outcome.agent}'s screen, before she says hello (GET /v1/tickets/{{id}}/context):")
    for summary in outcome.history[:4]:
        tell(f"   history: {summary}")
    tell(f"   order {order['order']['external_ref']}: {outcome.refundable} still refundable")
    for summary in outcome.allowed:
        tell(f"   she may: {summary}")
    for article in context["knowledge"]["articles"][:1]:
        tell(f"   knowledge suggests: {article.get('title', article)}")
    credit = center.seed["story"]["credit"]
    resolved = await call(
        services.router,
        "POST",
        f"/v1/tickets/{ticket['id']}/resolutions",
        {"type": "credit", "order_id": order["order"]["id"], **credit},
        **as_agent,
        **{"Idempotency-Key": f"demo-credit-{ticket['id']}"},
    )
    outcome.credit_outcome, outcome.ticket_status = resolved["outcome"], resolved["ticket_status"]
    tell(
        f"4. {outcome.agent} credits {credit['amount']} {credit['currency']} ({credit['reason']}): "
        f"{resolved['outcome']} at once, the ticket {resolved['ticket_status']} on the first call, no transfer."
    )


async def _the_outage(
    services: Services, desk: MessageDesk, center: ContactCenter, outcome: StoryOutcome, *, tell: Say
) -> str:
    reports = center.seed["story"]["outage"]
    tell(f"5. {len(reports)} other customers report one outage, each in their own words:")
    identities = {c["name"]: c["identity"] for c in center.seed["customers"]}
    for report in reports:
        body = {"customer": identities[report["customer"]], **{k: v for k, v in report.items() if k != "customer"}}
        opened = await call(
            services.router,
            "POST",
            "/v1/tickets",
            body,
            **{"Idempotency-Key": f"demo-outage-{report['customer']}".replace(" ", "-")},
        )
        outcome.outage_customers.append(opened["customer_id"])
        tell(f'   {report["customer"]} ({report["channel"]}): "{report["description"]}"')

    async def formed() -> dict[str, Any] | None:
        problems = await call(services.notifier, "GET", "/v1/problems?status=open")
        found = [p for p in problems["items"] if p["customer_count"] >= len(reports)]
        return found[0] if found else None

    problem = await until(formed, what="a problem of the outage's reports")
    outcome.problem_customers, outcome.problem_reports = problem["customer_count"], problem["report_count"]
    tell(
        f'   The notifier sees one problem: "{problem["summary_text"]}", {problem["customer_count"]} customers, '
        f"{problem['report_count']} reports (ops see it at GET /v1/problems)."
    )
    await until(lambda: _all_told(desk, "acknowledgement", outcome.outage_customers), what="the acknowledgements")
    outcome.acknowledged = desk.told("acknowledgement")
    names = _names(center, outcome.outage_customers)
    tell(f"   {', '.join(names)}: each told it is known and being worked on")
    return str(problem["id"])


async def _the_fix(
    services: Services, desk: MessageDesk, center: ContactCenter, problem_id: str, outcome: StoryOutcome, *, tell: Say
) -> None:
    seed_fix = center.seed["story"]["fix"]
    article = await call(services.knowledge, "POST", "/v1/articles", seed_fix["article"])
    body = {"resolution": seed_fix["resolution"], "fix_version": seed_fix["fix_version"], "article_id": article["id"]}

    async def resolve() -> bool | None:
        # The notifier learns of the article from knowledge's event, a moment after it is published.
        response = await services.notifier.post(
            f"/v1/problems/{problem_id}/resolve", json=body, headers={"Idempotency-Key": f"demo-fix-{problem_id}"}
        )
        if response.status_code == 422 and "body.article_id" in response.text:
            return None
        if response.status_code >= 300:
            raise DemoFailure(f"resolving the problem answered {response.status_code}: {response.text[:500]}")
        return True

    await until(resolve, what="the notifier learning of the fix's article")
    tell(f'6. The fix is published (article "{article["title"]}") and the problem resolved.')
    await until(lambda: _all_told(desk, "resolution", outcome.outage_customers), what="the resolution messages")
    deliveries = await call(services.notifier, "GET", f"/v1/notifications?problem_id={problem_id}&limit=500")
    decided = Counter(
        d["customer_id"] for d in deliveries["items"] if d["notification_kind"] == "resolution" and d["customer_id"]
    )
    outcome.resolved = desk.told("resolution")
    if any(decided[c] != 1 for c in outcome.outage_customers):
        raise DemoFailure(f"resolution messages decided per customer: {dict(decided)}")
    message = next(m for m in desk.messages if m.get("kind") == "resolution")
    tell(f'   Each of the {len(outcome.outage_customers)} is told once: "{message["subject"]}"')


async def _all_told(desk: MessageDesk, kind: str, customers: list[str]) -> bool | None:
    told = desk.told(kind)
    return True if all(told[c] >= 1 for c in customers) else None


def _names(center: ContactCenter, customer_ids: list[str]) -> list[str]:
    by_id = {customer_id: name for name, customer_id in center.customers.items()}
    return [by_id.get(c, c).split()[0] for c in customer_ids]
