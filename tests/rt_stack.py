"""Request Tracker as tests reach it: its URL, the bridge's token, REST 2.0 clients and agents to act as.

The URL and token come from the environment `make test` exports (var/stack.env, written by
`deploy/stack.sh up`, which starts RT through deploy/rt.sh). A test that needs RT fails, never skips, when
RT cannot be reached or refuses the token: in CI that is a broken stack, not a reason to pass.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import httpx
import pytest

RT_URL_VARIABLE = "FIRSTCALL_HELPDESK_RT_URL"
RT_TOKEN_VARIABLE = "FIRSTCALL_HELPDESK_RT_TOKEN"
DEFAULT_RT_URL = "http://127.0.0.1:8280/"
RT_SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "rt.sh"
# A REST request is tens of milliseconds on an idle machine; the bound is for a loaded 2-core CI box.
TIMEOUT = httpx.Timeout(30.0)
START_HINT = "start it with `make up` (make test does it) or `deploy/rt.sh start`, then `source var/stack.env`"


def _configured_url() -> str:
    url = os.environ.get(RT_URL_VARIABLE, DEFAULT_RT_URL)
    return url if url.endswith("/") else f"{url}/"


@functools.cache
def _problem() -> str | None:
    """Why RT cannot serve the tests (checked once per test process), or None when it can."""
    url, token = _configured_url(), os.environ.get(RT_TOKEN_VARIABLE, "")
    if not token:
        return f"{RT_TOKEN_VARIABLE} is not set: {START_HINT}"
    try:
        response = httpx.get(f"{url}REST/2.0/rt", headers={"Authorization": f"token {token}"}, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        return f"Request Tracker not reachable at {url} ({error!r}): {START_HINT}"
    if response.status_code == 401:
        return f"Request Tracker at {url} refuses {RT_TOKEN_VARIABLE} (stale var/stack.env?): {START_HINT}"
    if response.status_code != 200:
        return f"Request Tracker at {url} answers GET /REST/2.0/rt with HTTP {response.status_code}: {START_HINT}"
    return None


def require_rt() -> None:
    """Fail the calling test, loudly, when RT is not there to test against."""
    problem = _problem()
    if problem:
        pytest.fail(problem)


def rt_url() -> str:
    """RT's base URL, ending in '/' (REST 2.0 lives under it at REST/2.0/)."""
    require_rt()
    return _configured_url()


def rt_token() -> str:
    """The integration user's (firstcall-bridge) auth token."""
    require_rt()
    return os.environ[RT_TOKEN_VARIABLE]


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"token {token or rt_token()}", "Accept": "application/json"}


def rt_client(token: str | None = None) -> httpx.Client:
    """A client on RT's REST 2.0 (paths relative to /REST/2.0/), as the bridge or, given its token, an agent."""
    return httpx.Client(base_url=f"{rt_url()}REST/2.0/", headers=_headers(token), timeout=TIMEOUT)


def rt_async_client(token: str | None = None) -> httpx.AsyncClient:
    """rt_client for async tests."""
    return httpx.AsyncClient(base_url=f"{rt_url()}REST/2.0/", headers=_headers(token), timeout=TIMEOUT)


def create_agent(name: str, email: str | None = None) -> tuple[str, str]:
    """An RT user `name` in the group 'firstcall agents', and a new auth token to act in RT as that agent."""
    require_rt()
    command = [str(RT_SCRIPT), "agent", name, *([email] if email else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"`deploy/rt.sh agent {name}` failed ({done.returncode}): {done.stderr.strip()}")
    return name, done.stdout.strip()
