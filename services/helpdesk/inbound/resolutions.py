"""An agent's resolution in RT (the firstcall fields, or the status resolved) submitted to firstcall.

The router's answer comes back as a comment: executed, sent to a supervisor, or refused with the rule
that blocked it. RT's status follows firstcall's: a ticket firstcall has not resolved (waiting for a
supervisor, or refused) does not stay resolved in RT.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.helpdesk.firstcall.client import RouterRefused
from services.helpdesk.inbound.context import ActionContext, restore_status, unlinked
from services.helpdesk.inbound.fields import ResolutionRequest, parse_resolution
from services.helpdesk.outbound import messages

ANSWER_REASON = "answered in Request Tracker"
RESOLVED_IN_FIRSTCALL = frozenset({"resolved", "closed"})


async def resolve(ctx: ActionContext) -> None:
    """What the action asks: a resolution from the fields, an answer, or nothing new."""
    fields = (await ctx.desk_ticket()).fields
    if not (fields.get("resolution") or "").strip():
        if ctx.action.resolved:
            await _submit(ctx, {"type": "answer", "reason": ANSWER_REASON}, what="the answer")
        return
    if not ctx.action.resolution_set:
        await _keep_firstcall_status(ctx)
        return
    request = parse_resolution(fields, default_reason=ANSWER_REASON)
    if isinstance(request, list):
        await _unreadable(ctx, request)
        return
    order = await _order_id(ctx, request.order)
    if isinstance(order, str):
        await _unreadable(ctx, [order])
        return
    await _submit(ctx, _body(request, order, ctx.action.author), what=f"the {request.type}")


def _body(request: ResolutionRequest, order: uuid.UUID | None, author: str) -> dict[str, Any]:
    return {
        "type": request.type,
        "order_id": str(order) if order else None,
        "amount": f"{request.amount:.2f}",
        "currency": request.currency,
        "reason": request.reason,
        "note": f"set in Request Tracker by {author}",
    }


async def _submit(ctx: ActionContext, body: dict[str, Any], *, what: str) -> None:
    if ctx.agent is None:
        await _unreadable(ctx, [unlinked(ctx.action.author, "who resolved")])
        return
    try:
        answer = await ctx.router.resolve(
            ctx.link.ticket_id, {**body, "agent_id": str(ctx.agent)}, key=f"{ctx.key}-resolve"
        )
    except RouterRefused as refusal:
        ctx.tell(messages.refused(what, refusal.explanation))
        if ctx.action.resolved:
            restore_status(ctx, "open")
        return
    ctx.tell(messages.outcome(answer.body, what=what.removeprefix("the ")))
    if answer.body.get("outcome") == "executed":
        ctx.link.status_decided_at = ctx.now
    elif ctx.action.resolved:
        restore_status(ctx, "open")


async def _keep_firstcall_status(ctx: ActionContext) -> None:
    """Resolved in RT with fields submitted earlier: resolved there only if firstcall resolved it."""
    status = str((await ctx.firstcall_ticket()).get("status"))
    if ctx.action.resolved and status not in RESOLVED_IN_FIRSTCALL:
        ctx.tell(
            messages.refused(
                "the status resolved", f"the ticket is {status.replace('_', ' ')} in firstcall (see the comments above)"
            )
        )
        restore_status(ctx, "open")


async def _unreadable(ctx: ActionContext, problems: list[str]) -> None:
    ctx.tell(messages.unreadable("the resolution", problems))
    if ctx.action.resolved:
        restore_status(ctx, "open")


async def _order_id(ctx: ActionContext, reference: str | None) -> uuid.UUID | str | None:
    """The order's id: given as such, or found by its shop reference among the customer's orders."""
    if reference is None:
        return None
    try:
        return uuid.UUID(reference)
    except ValueError:
        pass
    context = await ctx.router.context(ctx.link.ticket_id)
    for view in context.get("orders") or []:
        order = view.get("order") or {}
        if str(order.get("external_ref") or "").lower() == reference.lower():
            return uuid.UUID(str(order["id"]))
    return f"firstcall order {reference!r} is not an order of this customer"
