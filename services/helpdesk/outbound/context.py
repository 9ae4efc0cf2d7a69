"""The agent's context as a comment a person reads in RT: simple HTML, most useful facts first.

Input is the router's `GET /v1/tickets/{id}/context` answer as JSON. Missing parts are left out rather
than shown empty, and long lists are cut: the comment is read on a screen during a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

from services.helpdesk.desk.port import Comment

MAX_ITEMS = 8


def context_comment(context: Mapping[str, Any], *, agent: str, why: str | None, article_url: str) -> Comment:
    """The comment posted when a ticket is assigned: everything the agent needs to resolve it now."""
    sections = [
        _header(agent, why),
        _customer(context.get("customer") or {}),
        _actions(context.get("allowed_actions") or [], context.get("pending_approvals") or []),
        _orders(context.get("orders") or []),
        _knowledge(context.get("knowledge") or {}, article_url),
        _problem(context.get("problem")),
        _history((context.get("customer") or {}).get("recent_history") or []),
        _how_to_act(),
    ]
    return Comment(subject=f"firstcall: context for {agent}", text="\n".join(s for s in sections if s), html=True)


def _header(agent: str, why: str | None) -> str:
    reason = f" ({escape(why)})" if why else ""
    return f"<p><b>firstcall assigned this ticket to {escape(agent)}</b>{reason}.</p>"


def _customer(customer: Mapping[str, Any]) -> str:
    profile = customer.get("profile") or {}
    name = profile.get("display_name") or "unnamed customer"
    identities = [
        f"{i.get('kind', '').replace('_', ' ')} {i.get('value', '')}" for i in profile.get("identities") or []
    ]
    owner = (customer.get("owner") or {}).get("name")
    facts = [
        f"known as {', '.join(identities)}" if identities else "",
        f"customer for {customer.get('tenure_days', 0)} days",
        f"account owner {owner}" if owner else "no account owner",
    ]
    others = customer.get("open_tickets") or []
    lines = [f"{t.get('subject', '')} ({t.get('status', '')}, {t.get('channel', '')})" for t in others]
    other_list = _list(lines, "other open tickets") if lines else "<p>No other open tickets.</p>"
    return f"<h3>Customer: {escape(str(name))}</h3>\n<p>{escape('; '.join(f for f in facts if f))}.</p>\n{other_list}"


def _actions(actions: Sequence[Mapping[str, Any]], pending: Sequence[Mapping[str, Any]]) -> str:
    lines = [str(a.get("summary") or a.get("type")) for a in actions]
    waiting = [
        f"{p.get('type')} {_money(p.get('amount'), p.get('currency'))} waits for a supervisor ({p.get('rule')})"
        for p in pending
    ]
    if not lines and not waiting:
        return "<h3>What you may do now</h3>\n<p>Nothing without a supervisor (the ticket is not open).</p>"
    return "<h3>What you may do now</h3>\n" + _list(lines + waiting)


def _orders(orders: Sequence[Mapping[str, Any]]) -> str:
    if not orders:
        return ""
    lines = []
    for view in orders[:MAX_ITEMS]:
        order = view.get("order") or {}
        ref = order.get("external_ref") or order.get("id")
        currency = order.get("currency")
        until = str(view.get("returnable_until") or "")[:10]
        returnable = f"returnable until {until}" if view.get("returnable") else f"return window closed {until}"
        lines.append(
            f"{ref}: {_money(order.get('total'), currency)}, ordered {str(order.get('ordered_at') or '')[:10]}; "
            f"still refundable {_money(view.get('refundable'), currency)}; {returnable}"
        )
    return "<h3>Orders</h3>\n" + _list(lines)


def _knowledge(knowledge: Mapping[str, Any], article_url: str) -> str:
    parts = []
    articles = knowledge.get("articles") or []
    if articles:
        items = []
        for article in articles[:MAX_ITEMS]:
            url = article_url.format(id=article.get("article_id", ""))
            title = escape(str(article.get("title") or "article"))
            snippet = escape(str(article.get("snippet") or ""))
            items.append(f'<li><a href="{escape(url)}">{title}</a>{" - " + snippet if snippet else ""}</li>')
        parts.append("<h3>Suggested articles</h3>\n<ul>" + "".join(items) + "</ul>")
    elif knowledge.get("source") == "pending":
        parts.append("<h3>Suggested articles</h3>\n<p>Not computed yet; they will follow in a comment.</p>")
    issue = knowledge.get("known_issue")
    if issue:
        parts.append("<h3>Known issue</h3>\n" + _list(known_issue_lines(issue)))
    return "\n".join(parts)


def known_issue_lines(issue: Mapping[str, Any]) -> list[str]:
    """A known issue as a person reads it: what, its fix status, and what to tell the customer."""
    status = str(issue.get("status") or "investigating").replace("_", " ")
    lines = [f"{issue.get('title')}: {status}"]
    if issue.get("workaround"):
        lines.append(f"workaround: {issue['workaround']}")
    if issue.get("fix"):
        version = f" (version {issue['fix_version']})" if issue.get("fix_version") else ""
        lines.append(f"fix: {issue['fix']}{version}")
    return lines


def _problem(problem: Mapping[str, Any] | None) -> str:
    if not problem:
        return ""
    others = int(problem.get("other_customers") or 0)
    lines = [
        f"{problem.get('summary')}",
        f"{others} other customer{'s' if others != 1 else ''} report it ({problem.get('severity')}, "
        f"{problem.get('status')})",
    ]
    if problem.get("resolution"):
        lines.append(f"resolution: {problem['resolution']}")
    return "<h3>Problem this ticket belongs to</h3>\n" + _list(lines)


def _history(history: Sequence[Mapping[str, Any]]) -> str:
    if not history:
        return ""
    lines = [f"{str(h.get('occurred_at') or '')[:10]} {h.get('summary')}" for h in history]
    return "<h3>Recent history</h3>\n" + _list(lines)


def _how_to_act() -> str:
    return (
        "<p><i>Reply to the customer as usual. To resolve, set <b>firstcall resolution</b> (and amount, "
        "currency, order, reason for money); firstcall answers here. To pass the ticket on, change its owner "
        "(and <b>firstcall transfer reason</b>).</i></p>"
    )


def _list(lines: Iterable[str], label: str | None = None) -> str:
    items = list(lines)
    shown = "".join(f"<li>{escape(line)}</li>" for line in items[:MAX_ITEMS])
    more = f"<li>and {len(items) - MAX_ITEMS} more</li>" if len(items) > MAX_ITEMS else ""
    heading = f"<p>{escape(label.capitalize())}:</p>" if label else ""
    return f"{heading}<ul>{shown}{more}</ul>"


def _money(amount: Any, currency: Any) -> str:
    """Two decimals when the amount has no more (the router may keep finer amounts: those stay exact)."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency or ''}".strip()
    cents = value.quantize(Decimal("0.01"))
    shown = f"{cents:.2f}" if cents == value else f"{value.normalize()}"
    return f"{shown} {currency or ''}".strip()
