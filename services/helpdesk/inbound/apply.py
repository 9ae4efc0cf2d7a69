"""RT -> firstcall: one agent's action in RT applied through the router's API, as that agent.

firstcall is the referee (docs/decisions/0001-helpdesk-bridge.md): what the router accepts becomes its
latest decision; what it refuses is undone in RT with a comment saying why. Bad data (an unknown user, a
field that does not parse) is found before anything is sent, so nothing is half-done in firstcall.
Every router call has an Idempotency-Key made of the RT transaction, so reading an action twice (a
restart before the bridge's commit) replays the router's first answer instead of acting again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import Change, Helpdesk
from services.helpdesk.firstcall.client import RouterAnswer, RouterClient, RouterRefused
from services.helpdesk.inbound import resolutions
from services.helpdesk.inbound.actions import Action
from services.helpdesk.inbound.context import ActionContext, restore_owner, restore_status, unlinked
from services.helpdesk.inbound.fields import RESOLUTION_FIELDS, transfer_reason
from services.helpdesk.links import service as links
from services.helpdesk.links.models import TicketLink
from services.helpdesk.outbound import messages


async def apply_action(
    *, session: AsyncSession, helpdesk: Helpdesk, router: RouterClient, link: TicketLink, action: Action, now: datetime
) -> None:
    """Apply what one person did in RT to firstcall, step by step in the order RT recorded it
    (RouterUnavailable: nothing is recorded, the action is read again later)."""
    ctx = ActionContext(session, helpdesk, router, link, action, now)
    ctx.agent = await links.agent_of_rt_user(session=session, rt_user=action.author)
    taken: set[str] = set()
    for change in action.changes:
        step = _step(action, change)
        if step is None or step in taken:
            continue
        if step == "note":
            await _note(ctx, change.id, public=change.kind == "reply")
            continue
        taken.add(step)
        if step == "reopen":
            await _reopen(ctx)
        elif step == "transfer" and action.new_owner is not None:
            await _transfer(ctx, action.new_owner.new)
        elif step == "resolution":
            await resolutions.resolve(ctx)


def _step(action: Action, change: Change) -> str | None:
    """Which of firstcall's operations a change belongs to (one operation per kind and action)."""
    if change.kind in ("reply", "comment"):
        return "note"
    if change.kind == "owner" and action.new_owner is not None:
        return "transfer"
    if change.kind == "status":
        return "reopen" if action.reopened else ("resolution" if action.resolved else None)
    if change.kind == "field" and change.field in RESOLUTION_FIELDS and action.resolution_set:
        return "resolution"
    return None


async def _reopen(ctx: ActionContext) -> None:
    acting = ctx.agent or await ctx.firstcall_agent()
    body = {"reason": f"reopened in Request Tracker by {ctx.action.author}", "agent_id": _id(acting)}
    try:
        await ctx.router.reopen(ctx.link.ticket_id, body, key=f"{ctx.key}-reopen")
    except RouterRefused as refusal:
        if refusal.status == 409:
            return  # not resolved in firstcall (already open again): the two sides agree
        ctx.tell(messages.refused("the reopening", refusal.explanation))
        restore_status(ctx, "resolved")
        return
    ctx.link.status_decided_at = ctx.now


async def _note(ctx: ActionContext, change_id: int, *, public: bool) -> None:
    if ctx.agent is None:
        return  # the customer's own reply, or someone who is not a firstcall agent: not an agent's response
    change = next(c for c in ctx.action.changes if c.id == change_id)
    text = (await ctx.helpdesk.change_text(change)).strip()
    if not text:
        return
    body = {"body": text[:20_000], "public": public, "agent_id": str(ctx.agent)}
    try:
        await ctx.router.add_note(ctx.link.ticket_id, body, key=f"{ctx.key}-note-{change_id}")
    except RouterRefused as refusal:
        what = "this reply as the first response" if public else "this comment as a note"
        ctx.tell(messages.refused(what, refusal.explanation))


async def _transfer(ctx: ActionContext, new_owner: str | None) -> None:
    """An owner change is a transfer by the agent who made it; firstcall decides whether they may."""
    to_agent = await links.agent_of_rt_user(session=ctx.session, rt_user=new_owner) if new_owner else None
    current = await ctx.firstcall_agent()
    if to_agent == current and (new_owner is None or to_agent is not None):
        return  # RT caught up with firstcall's own assignment (a take of one's own ticket)
    problems = [unlinked(new_owner, "the new owner")] if new_owner is not None and to_agent is None else []
    if ctx.agent is None:
        problems.append(unlinked(ctx.action.author, "who changed the owner"))
    if problems:
        ctx.tell(messages.unreadable("the owner change", problems))
        restore_owner(ctx, current)
        return
    reason, remark = transfer_reason((await ctx.desk_ticket()).fields.get("transfer reason"))
    note = f"Owner changed in Request Tracker by {ctx.action.author}." + (f" {remark}." if remark else "")
    body = {"reason": reason, "to_agent_id": _id(to_agent), "note": note, "agent_id": _id(ctx.agent)}
    try:
        answer = await ctx.router.transfer(ctx.link.ticket_id, body, key=f"{ctx.key}-transfer")
    except RouterRefused as refusal:
        ctx.tell(messages.refused("the owner change", refusal.explanation))
        restore_owner(ctx, current)
        return
    ctx.link.owner_decided_at = _time(answer, "created_at") or ctx.now


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def _time(answer: RouterAnswer, key: str) -> datetime | None:
    value = answer.body.get(key)
    return datetime.fromisoformat(str(value)) if value else None
