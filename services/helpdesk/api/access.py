"""Who may call what on the bridge (keys are issued by the router; admin may do everything)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.helpdesk.outbound.sides import Sides
from shared.errors import ProblemError
from shared.web.auth import Principal, Scope, require

# The agent <-> RT user mapping is the helpdesk admin's; ops and supervisors read how the sync is doing.
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
Reader = Annotated[Principal, Depends(require(Scope.OPS, Scope.SUPERVISOR))]


async def get_sides(request: Request) -> Sides | None:
    """The helpdesk and router connections, when an RT is configured."""
    sides: Sides | None = request.app.state.runtime.extensions.get("sides")
    return sides


SidesDep = Annotated[Sides | None, Depends(get_sides)]


def not_connected() -> ProblemError:
    return ProblemError(
        503, "helpdesk-not-connected", "No helpdesk configured", "Set FIRSTCALL_HELPDESK_RT_URL and _RT_TOKEN."
    )
