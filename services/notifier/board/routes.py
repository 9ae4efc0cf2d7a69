"""/board: the live problem board, its sign-in, its stream and its files.

The board is a page for people, not part of the API: its routes are left out of the OpenAPI document (no
client is generated for them, and the document's checks of every operation do not apply to HTML).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.notifier.api.deps import SettingsDep
from services.notifier.board import access, pages
from services.notifier.board.hub import BoardHub
from services.notifier.board.stream import BoardStream, StreamLimits
from shared.errors import ProblemError
from shared.web.app import RuntimeDep

router = APIRouter(prefix="/board", include_in_schema=False)
HUB = "board_hub"
LIMITS = "board_limits"

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=28,
        pattern=r"^[0-9a-f]{8}\.[0-9]{1,19}$",
        description="The `id` of the last message received: the stream goes on right after it",
    ),
]


def enabled(request: Request, settings: SettingsDep) -> None:
    access.secure(request)
    if not settings.board_enabled:
        raise ProblemError(404, "not-found", "Not found", "The problem board is turned off (board_enabled).")


Enabled = Annotated[None, Depends(enabled)]


@router.get("", response_class=HTMLResponse)
async def board_page(request: Request, runtime: RuntimeDep, _: Enabled) -> Response:
    presented = access.presented_key(request)
    if presented is None:
        return RedirectResponse("/board/login", status_code=303)
    try:
        principal = await access.viewer(runtime, request, presented)
    except ProblemError as refused:
        return pages.sign_in(message=refused.detail, status_code=refused.status)
    return pages.board(viewer=principal.name)


@router.get("/login", response_class=HTMLResponse)
async def sign_in_page(_: Enabled) -> Response:
    return pages.sign_in()


@router.post("/login", response_class=HTMLResponse)
async def sign_in(request: Request, runtime: RuntimeDep, settings: SettingsDep, _: Enabled) -> Response:
    access.same_origin(request)
    try:
        key = await access.posted_key(request)
        await access.viewer(runtime, request, key)
    except ProblemError as refused:
        if refused.status not in (401, 403):
            raise
        return pages.sign_in(message=refused.detail, status_code=refused.status)
    response = RedirectResponse("/board", status_code=303)
    access.keep_key(response, key, settings)
    return response


@router.post("/logout")
async def sign_out(request: Request, settings: SettingsDep, _: Enabled) -> Response:
    access.same_origin(request)
    response = RedirectResponse("/board/login", status_code=303)
    access.forget_key(response, settings)
    return response


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    asset = pages.STATIC.get(name)
    if asset is None:
        raise ProblemError(404, "not-found", "Not found", f"The board has no file {name[:100]!r}.")
    return Response(
        asset.body,
        media_type=asset.media_type,
        headers={"Cache-Control": "public, max-age=300", "ETag": asset.etag, "X-Content-Type-Options": "nosniff"},
    )


async def opened_stream(
    request: Request, runtime: RuntimeDep, _: Enabled, last_event_id: LastEventId = None
) -> AsyncIterator[BoardStream]:
    """Every check before the stream opens: a refusal is a problem answer, never a 200 that stops."""
    presented = access.presented_key(request)
    principal = await access.viewer(runtime, request, presented)
    hub: BoardHub = runtime.extensions[HUB]
    limits: StreamLimits = runtime.extensions[LIMITS]

    async def still_allowed() -> bool:
        try:
            await runtime.authenticator.authenticate(presented)
        except ProblemError:
            return False
        return True

    with limits.lease(principal.key_id):
        yield BoardStream(hub=hub, last_event_id=last_event_id, still_allowed=still_allowed)


@router.get("/events", response_class=EventSourceResponse)
async def board_events(stream: Annotated[BoardStream, Depends(opened_stream)]) -> AsyncIterator[ServerSentEvent]:
    async for frame in stream.frames():
        yield ServerSentEvent(
            raw_data=frame.data.decode() if frame.data is not None else None,
            event=frame.event,
            id=frame.id,
            retry=frame.retry,
            comment=frame.comment,
        )


def attach(runtime_extensions: dict[str, object], hub: BoardHub) -> None:
    """Give the routes their hub and stream limits (bootstrap calls it)."""
    runtime_extensions[HUB] = hub
    runtime_extensions[LIMITS] = StreamLimits()
