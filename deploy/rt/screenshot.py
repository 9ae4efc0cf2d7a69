"""A screenshot of an RT ticket showing firstcall's context comment, for docs/helpdesk.md.

    .venv/bin/python deploy/rt/screenshot.py [--out docs/images/rt-context-comment.png]

Needs this checkout's RT running (`deploy/rt.sh start`) and Debian's `chromium`. It starts firstcall
embedded (`firstcall run`: SQLite files in a temporary folder, the in-memory bus, the helpdesk bridge
connected to RT), makes a demo agent linked to an RT user, a customer known by email with an order and a
help article, and opens a ticket by phone; once the bridge has put the ticket in RT with its owner and the
context comment, headless Chromium logs into RT's web UI as root (var/rt/root.password) and captures the
ticket display page around that comment. The demo ticket stays in RT.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe), so the password
never appears on a command line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from screenshot_browser import Browser  # beside this script: its folder is first on sys.path

ROOT = Path(__file__).resolve().parents[2]
RT_VAR = ROOT / "var" / "rt"
RT_URL = f"http://127.0.0.1:{os.environ.get('FIRSTCALL_RT_PORT', '8280')}/"
OUT = ROOT / "docs" / "images" / "rt-context-comment.png"
MAX_BYTES = 300_000
WAIT = 180.0  # a loaded 2-core machine: the first start builds the notifier's encoder, RT writes take seconds
PROCESSES = ("router", "knowledge", "notifier", "helpdesk")
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = WAIT, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            found = probe()
            if found:
                return found
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshot: {what} not seen within {timeout:.0f} s")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def firstcall(scratch: Path, admin_key: str) -> Iterator[dict[str, str]]:
    """`firstcall run` with the bridge connected to this checkout's RT; yields each process's base URL."""
    ports = {name: free_port() for name in PROCESSES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTCALL_")}
    env |= {f"FIRSTCALL_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env |= {
        "FIRSTCALL_ENVIRONMENT": "development",
        "FIRSTCALL_BUS": "memory",
        "FIRSTCALL_DATA_DIR": str(scratch / "data"),
        "FIRSTCALL_ADMIN_API_KEY": admin_key,
        "FIRSTCALL_LOG_FORMAT": "text",
        "FIRSTCALL_HELPDESK_RT_URL": RT_URL,
        "FIRSTCALL_HELPDESK_RT_TOKEN": (RT_VAR / "bridge.token").read_text().strip(),
        "FIRSTCALL_HELPDESK_ROUTER_URL": urls["router"],
        "FIRSTCALL_HELPDESK_ARTICLE_URL": f"{urls['knowledge']}/v1/articles/{{id}}",
        "FIRSTCALL_HELPDESK_POLL_INTERVAL_SECONDS": "0.5",
    }
    log = scratch / "firstcall.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        for name, url in urls.items():

            def ready(url: str = url) -> bool:
                if process.poll() is not None:
                    raise SystemExit(f"screenshot: firstcall exited:\n{log.read_text()[-3000:]}")
                return httpx.get(f"{url}/readyz", timeout=5).status_code == 200

            wait_for(f"{name} ready", ready)
        yield urls
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rt_problem() -> str | None:
    """Why this checkout's RT cannot be used, or None."""
    token = RT_VAR / "bridge.token"
    if not token.exists() or not (RT_VAR / "root.password").exists():
        return f"no provisioned RT under {RT_VAR}"
    try:
        answer = httpx.get(f"{RT_URL}REST/2.0/rt", headers={"Authorization": f"token {token.read_text().strip()}"})
    except httpx.HTTPError as error:
        return f"RT does not answer at {RT_URL} ({error!r})"
    return None if answer.status_code == 200 else f"RT answers {answer.status_code} at {RT_URL}REST/2.0/rt"


def rt_agent(name: str) -> str:
    """The RT user `name` in 'firstcall agents' (deploy/rt.sh agent; the token it prints is not needed)."""
    done = subprocess.run(
        [str(ROOT / "deploy" / "rt.sh"), "agent", name], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"screenshot: `deploy/rt.sh agent {name}` failed: {done.stderr.strip()}")
    return name


def post(client: httpx.Client, url: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post(url, json=body, headers=headers)
    if response.status_code >= 300:
        raise SystemExit(f"screenshot: POST {url}: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


def demo_ticket(urls: dict[str, str], admin_key: str) -> tuple[int, int]:
    """A phone call for Ada, routed to Grace: (RT ticket id, id of the RT transaction of the context comment)."""
    with httpx.Client(headers={"Authorization": f"Bearer {admin_key}"}, timeout=60) as client:
        post(
            client,
            f"{urls['knowledge']}/v1/articles",
            {
                "title": "Card payment declined although the account has funds",
                "body": "## Cause\nOnline payments are turned off for the card.\n\n## Fix\nTurn them on in the app "
                "(Card > Settings > Online payments), then pay again.",
                "tags": ["payments"],
                "products": ["debit-card"],
                "status": "published",
            },
        )
        grace = post(
            client,
            f"{urls['router']}/v1/agents",
            {
                "display_name": "Grace Hopper",
                "team": "payments",
                "skills": {"cards": 4, "refunds": 3},
                "capacity": {"phone": 1, "chat": 2, "email": 5},
                "authority": {"credit": {"EUR": "50.00"}, "refund": {"EUR": "200.00"}, "return": {"EUR": "500.00"}},
                "status": "available",
            },
        )
        user = rt_agent("grace")
        linked = client.put(f"{urls['helpdesk']}/v1/agent-links/{grace['id']}", json={"rt_user": user})
        if linked.status_code != 200:
            raise SystemExit(f"screenshot: linking Grace to RT user {user}: {linked.text}")
        ada = {"email": "ada.lovelace@example.com", "name": "Ada Lovelace"}
        order = {
            "customer": ada,
            "source": "shop",
            "external_ref": f"SO-{secrets.randbelow(9000) + 1000}",
            "currency": "EUR",
            "lines": [{"sku": "KB-1", "description": "Keyboard", "quantity": 1, "unit_price": "89.90"}],
            "ordered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3 * 86400)),
        }
        post(client, f"{urls['router']}/v1/orders", order)
        ticket = post(
            client,
            f"{urls['router']}/v1/tickets",
            {
                "customer": {"phone": "+44 20 7946 0958", **ada},
                "channel": "phone",
                "subject": "Card payment declined",
                "description": "My card was declined at the checkout although I have funds.",
                "attributes": {"product": "debit-card"},
            },
            **{"Idempotency-Key": f"demo-{secrets.token_hex(8)}"},
        )

        def linked_rt_id() -> int | None:
            link = client.get(f"{urls['helpdesk']}/v1/tickets/{ticket['id']}/link")
            return int(link.json()["rt_ticket_id"]) if link.status_code == 200 and link.json()["rt_ticket_id"] else None

        rt_id = wait_for("the RT ticket", linked_rt_id)
    token = (RT_VAR / "bridge.token").read_text().strip()
    with httpx.Client(base_url=f"{RT_URL}REST/2.0/", headers={"Authorization": f"token {token}"}, timeout=60) as rt:

        def context_comment() -> int | None:
            items = rt.get(f"ticket/{rt_id}/attachments", params={"fields": "Subject,TransactionId"}).json()["items"]
            found = [i for i in items if str(i.get("Subject") or "").startswith("firstcall: context for Grace")]
            if not found:
                return None
            transaction = found[0]["TransactionId"]
            return int(transaction["id"] if isinstance(transaction, dict) else transaction)

        return rt_id, wait_for("the context comment in RT", context_comment)


# RT's own collapse control on the ticket's metadata box, clicked as an agent would: the history with the
# comment then follows the ticket's title (who owns it shows in the history and the comment).
COLLAPSE_METADATA = """
const box = [...document.querySelectorAll('.titlebox')]
  .find(b => b.querySelector('.titlebox-title .left')?.textContent.trim() === 'Ticket metadata');
box?.querySelector('.titlebox-title .toggle')?.click();
"""
WIDTH = 1100


def capture(rt_id: int, transaction: int, out: Path, profile: Path) -> int:
    """Log into RT as root, open the ticket, save the page down to the comment's end; returns the size."""
    password = (RT_VAR / "root.password").read_text().strip()
    with Browser(profile, width=WIDTH, height=900) as browser:
        browser.open(RT_URL)
        browser.run_js(
            f"document.querySelector('input[name=user]').value = {browser.quote('root')};"
            f"document.querySelector('input[name=pass]').value = {browser.quote(password)};"
            "document.querySelector('form#login').submit();"
        )
        browser.wait_js("document.readyState === 'complete' && !document.querySelector('form#login')", WAIT)
        browser.open(f"{RT_URL}Ticket/Display.html?id={rt_id}")
        comment = f"document.querySelector('[data-transaction-id=\"{transaction}\"]')"
        browser.wait_js(f"!!{comment} && document.fonts.status === 'loaded'", WAIT)
        browser.run_js(COLLAPSE_METADATA)
        browser.wait_js("!document.querySelector('.collapsing')", 30)
        bottom = float(browser.run_js(f"{comment}.getBoundingClientRect().bottom + scrollY")) + 12
        png = b""
        for scale in (1.0, 0.9, 0.8, 0.7, 0.6):  # legible first; smaller only if the file would be too big
            png = browser.screenshot(x=0, y=0, width=WIDTH, height=bottom, scale=scale)
            if len(png) < MAX_BYTES:
                break
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return len(png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help=f"PNG to write (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    problem = rt_problem()
    if problem:
        print(f"screenshot: {problem}; start it with `deploy/rt.sh start`", file=sys.stderr)
        return 2
    if not shutil.which("chromium"):
        print("screenshot: needs Chromium: apt-get install -y --no-install-recommends chromium", file=sys.stderr)
        return 2
    admin_key = secrets.token_urlsafe(36)  # the embedded services are throwaway: so is their admin key
    with tempfile.TemporaryDirectory(prefix="firstcall-screenshot-") as scratch:
        with firstcall(Path(scratch), admin_key) as urls:
            rt_id, transaction = demo_ticket(urls, admin_key)
        size = capture(rt_id, transaction, args.out, Path(scratch) / "chromium")
    print(f"RT ticket {rt_id}: {RT_URL}Ticket/Display.html?id={rt_id} -> {args.out} ({size / 1000:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
