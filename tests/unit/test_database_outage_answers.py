"""A request that meets a database outage is a 503 the client may retry, never a 500."""

from __future__ import annotations

import sqlite3

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from shared.errors import install_problem_handlers


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/thing")
    async def thing() -> None:
        raise error

    return app


async def answer(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/thing")


async def test_a_refused_database_connection_is_a_503_with_retry_after() -> None:
    response = await answer(ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"].endswith("/database-unavailable")


async def test_a_locked_sqlite_database_is_a_503() -> None:
    locked = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
    assert (await answer(locked)).status_code == 503


async def test_a_bug_is_still_a_500_without_internals() -> None:
    response = await answer(ValueError("secret internals"))
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "retry-after" not in response.headers
