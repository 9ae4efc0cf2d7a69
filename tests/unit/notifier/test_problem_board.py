"""The live problem board: who may see it, what its cards say, and its stream of changes as problems form,
grow and are resolved.

Streams are read over a real socket (the in-process ASGI transport buffers a response to its end, and a
stream has none), each message within a generous timeout; absence is shown by order (the next message is
the one expected), never by waiting.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from services.notifier.board import cards as board_cards
from services.notifier.board.hub import BoardHub
from services.notifier.board.stream import BoardStream
from services.notifier.bootstrap import create_app
from tests.factories import ADMIN
from tests.notifier_factories import known_issue, outage, report
from tests.unit.notifier.conftest import Notifier, NotifierFactory
from tests.unit.router.test_desktop_push import READ_TIMEOUT, EventStream, Message

FAST = {"board_poll_seconds": 0.1}
LOGIN_REPORTS = (
    ("App crashes when I log in", "The mobile app closes itself right after I enter my password and log in."),
    ("Mobile app crashes on login", "Every time I log in on the app it crashes and closes."),
    ("App keeps crashing at login", "I log in and the app crashes immediately, on Android."),
    ("Login makes the app crash", "The app crashes as soon as I try to log in with my account."),
)


@asynccontextmanager
async def served(notifier: Notifier) -> AsyncIterator[str]:
    """The notifier over HTTP on a loopback port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    app = create_app(notifier.runtime, manage_runtime=False)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(READ_TIMEOUT):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def board_stream(base_url: str, headers: dict[str, str]) -> AsyncIterator[EventStream]:
    timeout = httpx.Timeout(READ_TIMEOUT, read=None)  # reads are bounded per message instead
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=timeout) as client,
        client.stream("GET", "/board/events", headers=headers) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        yield EventStream(response)


async def next_change(events: EventStream, wanted: Callable[[dict[str, Any]], bool]) -> Message:
    """The first `problem` message that `wanted` accepts (a change may be told in more than one step)."""
    async with asyncio.timeout(READ_TIMEOUT * 3):
        while True:
            message = await events.event()
            if message.event == "problem" and wanted(message.json):
                return message


@pytest.fixture
async def board(make_notifier: NotifierFactory) -> Notifier:
    return await make_notifier(**FAST)


def bare(notifier: Notifier) -> httpx.AsyncClient:
    """A client of the notifier that sends no key of its own."""
    return httpx.AsyncClient(transport=notifier.client._transport, base_url="http://notifier")


# Who may see it


async def test_the_stream_is_refused_without_a_key_and_to_keys_without_the_ops_scope(board: Notifier) -> None:
    agent = await board.api_key("agent")
    async with bare(board) as client:
        without = await client.get("/board/events")
        wrong = await client.get("/board/events", headers={"Authorization": "Bearer fck_000000000000_nope"})
        forbidden = await client.get("/board/events", headers=agent)
    assert (without.status_code, wrong.status_code, forbidden.status_code) == (401, 401, 403)
    assert without.headers["content-type"] == "application/problem+json"
    assert forbidden.json()["detail"] == "The board needs an ops or admin key."


async def test_the_page_without_a_key_sends_the_browser_to_the_sign_in_form(board: Notifier) -> None:
    async with bare(board) as client:
        page = await client.get("/board")
        form = await client.get("/board/login")
    assert page.status_code == 303
    assert page.headers["location"] == "/board/login"
    assert form.status_code == 200
    assert '<form class="signin-card" method="post" action="/board/login"' in form.text
    assert "script-src 'self'" in form.headers["content-security-policy"]
    assert form.headers["x-frame-options"] == "DENY"


async def test_signing_in_keeps_the_key_in_a_strict_httponly_cookie_that_opens_the_board(board: Notifier) -> None:
    ops = (await board.api_key("ops"))["Authorization"].removeprefix("Bearer ")
    async with bare(board) as client:
        signed_in = await client.post("/board/login", data={"key": ops})
        page = await client.get("/board")
        signed_out = await client.post("/board/logout")
        again = await client.get("/board")
    cookie = signed_in.headers["set-cookie"]
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/board"
    assert cookie.startswith(f"firstcall_board={ops};")
    assert {"HttpOnly", "Path=/board", "SameSite=strict"} <= {part.strip() for part in cookie.split(";")}
    assert "Secure" not in cookie  # a test environment: plain http; production sets it (board_cookie_is_secure)
    assert page.status_code == 200
    assert "Problem board" in page.text
    assert "/board/static/board.js" in page.text
    assert signed_out.status_code == 303
    assert again.status_code == 303


async def test_a_wrong_key_or_one_without_the_ops_scope_is_told_on_the_sign_in_form(board: Notifier) -> None:
    agent = (await board.api_key("agent"))["Authorization"].removeprefix("Bearer ")
    async with bare(board) as client:
        unknown = await client.post("/board/login", data={"key": "fck_000000000000_nope"})
        forbidden = await client.post("/board/login", data={"key": agent})
        empty = await client.post("/board/login", data={"key": ""})
    assert (unknown.status_code, forbidden.status_code, empty.status_code) == (401, 403, 401)
    assert "unknown or revoked" in unknown.text
    assert "needs an ops or admin key" in forbidden.text
    assert "set-cookie" not in forbidden.headers


async def test_a_sign_in_posted_from_another_site_is_refused(board: Notifier) -> None:
    async with bare(board) as client:
        response = await client.post(
            "/board/login", data={"key": ADMIN["Authorization"][7:]}, headers={"Origin": "https://elsewhere.example"}
        )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_a_malformed_last_event_id_is_a_422_naming_the_header(board: Notifier) -> None:
    response = await board.client.get("/board/events", headers={"Last-Event-ID": "12; drop"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "header.Last-Event-ID"


async def test_the_board_can_be_turned_off(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(board_enabled=False)
    assert (await notifier.client.get("/board")).status_code == 404
    assert (await notifier.client.get("/board/events")).status_code == 404


async def test_the_board_is_not_part_of_the_api_document(board: Notifier) -> None:
    paths = (await board.client.get("/openapi.json")).json()["paths"]
    assert [path for path in paths if path.startswith("/board")] == []


async def test_the_page_files_are_served_by_the_notifier_itself(board: Notifier) -> None:
    async with bare(board) as client:
        script = await client.get("/board/static/board.js")
        missing = await client.get("/board/static/..%2Fsettings.py")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "new EventSource" in script.text
    assert "innerHTML" not in script.text  # the server's words go in as text, never as markup
    assert missing.status_code == 404


# What a card says


async def test_a_card_counts_the_customers_of_each_five_minutes_and_shows_the_latest_reports(board: Notifier) -> None:
    now = datetime.now(UTC)
    reports = outage(5, start=now - timedelta(minutes=50), every=timedelta(minutes=10))
    await board.publish(*reports)
    [problem] = (await board.client.get("/v1/problems")).json()["items"]
    await board.publish(known_issue(uuid.UUID(problem["id"])))

    async with board.runtime.database.session() as session:
        card = (await board_cards.cards(session=session, problem_ids=[uuid.UUID(problem["id"])], now=now))[
            uuid.UUID(problem["id"])
        ]

    starts = board_cards.buckets_ending(now)
    expected = [sum(1 for r in reports if start <= r.opened_at < start + board_cards.BUCKET) for start in starts]
    assert card["spark"]["customers"] == expected
    assert sum(expected) == 5
    assert (card["status"], card["customer_count"], card["report_count"]) == ("open", 5, 5)
    assert [r["ticket_id"] for r in card["latest_reports"]] == [str(r.ticket_id) for r in reversed(reports[-3:])]
    assert all("customer_name" not in r for r in card["latest_reports"])
    assert card["known_issue"]["status"] == "workaround_available"
    assert card["known_issue"]["fix_version"] == "2.4.1"


# The stream


async def test_the_stream_tells_a_problem_as_it_forms_is_detected_grows_and_is_resolved(board: Notifier) -> None:
    reports = outage(5)
    async with served(board) as url, board_stream(url, ADMIN) as events:
        first = await events.event()
        assert first.event == "board"
        assert first.json["problems"] == []

        await board.publish(*reports[:2])
        forming = await next_change(events, lambda m: m["change"] == "forming")
        assert forming.json["problem"]["customer_count"] == 2

        await board.publish(reports[2])
        detected = await next_change(events, lambda m: m["change"] == "detected")
        problem_id = detected.json["problem"]["id"]
        assert problem_id == forming.json["problem"]["id"]
        assert detected.json["problem"]["status"] == "open"
        assert detected.json["problem"]["customer_count"] == 3

        await board.publish(reports[3])
        grown = await next_change(events, lambda m: m["problem"]["customer_count"] == 4)
        assert grown.json["change"] == "updated"

        resolved = await board.client.post(f"/v1/problems/{problem_id}/resolve", json={"resolution": "Fixed."})
        assert resolved.status_code == 200, resolved.text
        told = await next_change(events, lambda m: m["change"] == "resolved")
        assert told.json["problem"]["id"] == problem_id
        assert told.json["problem"]["resolution"] == "Fixed."
    ids = [message.id or "" for message in (first, forming, detected, grown, told)]
    assert [int(i.split(".")[1]) for i in ids] == sorted(int(i.split(".")[1]) for i in ids)


async def test_a_page_that_reconnects_with_its_last_event_id_gets_what_it_missed_not_the_whole_board(
    board: Notifier,
) -> None:
    reports = outage(4)
    await board.publish(*reports[:3])
    async with served(board) as url:
        async with board_stream(url, ADMIN) as events:
            picture = await events.event()
        assert picture.event == "board"
        assert [p["customer_count"] for p in picture.json["problems"]] == [3]

        await board.publish(reports[3])
        async with board_stream(url, {**ADMIN, "Last-Event-ID": picture.id or ""}) as events:
            missed = await events.event()
        async with board_stream(url, {**ADMIN, "Last-Event-ID": "0badf00d.1"}) as events:
            foreign = await events.event()
    assert missed.event == "problem"
    assert missed.json["problem"]["customer_count"] == 4
    assert foreign.event == "board"  # another replica's (or an earlier process's) id: the whole picture again
    assert [p["customer_count"] for p in foreign.json["problems"]] == [4]


async def test_a_quiet_stream_sends_heartbeats_and_ends_when_its_key_is_revoked(board: Notifier) -> None:
    hub: BoardHub = board.runtime.extensions["board_hub"]
    allowed = [True, False]

    async def still_allowed() -> bool:
        return allowed.pop(0)

    stream = BoardStream(hub=hub, last_event_id=None, still_allowed=still_allowed, heartbeat_seconds=0.05)
    frames = [frame async for frame in stream.frames()]  # ends by itself: the second check refuses
    assert [(frame.event, frame.comment) for frame in frames] == [("board", None), (None, "keep-alive")]
    assert hub.watchers == 0


async def test_a_problem_merged_into_another_is_taken_off_the_board(board: Notifier) -> None:
    await board.publish(*outage(3), *[report(subject, text) for subject, text in LOGIN_REPORTS[:3]])
    kept, folded = [p["id"] for p in (await board.client.get("/v1/problems")).json()["items"]]
    async with served(board) as url, board_stream(url, ADMIN) as events:
        picture = await events.event()
        assert sorted(p["id"] for p in picture.json["problems"]) == sorted([kept, folded])
        merged = await board.client.post(f"/v1/problems/{kept}/merge", json={"problem_id": folded})
        assert merged.status_code == 200, merged.text
        async with asyncio.timeout(READ_TIMEOUT * 3):
            while (message := await events.event()).event != "removed":
                assert message.event == "problem"
    assert message.json == {"problem_id": folded}
