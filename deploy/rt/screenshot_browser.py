"""Headless Chromium driven over the DevTools protocol on a pipe, for deploy/rt/screenshot.py.

`--remote-debugging-pipe` makes Chromium read protocol commands on fd 3 and write answers on fd 4, as
JSON messages each ended by a NUL byte (what Puppeteer's `pipe: true` uses). That needs neither a
websocket library nor a debugging port anyone on the machine could connect to.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any


class BrowserError(RuntimeError):
    pass


class Browser:
    """One Chromium page: open a URL, run JavaScript, wait for a condition, capture part of the page."""

    def __init__(self, profile: Path, *, width: int, height: int, timeout: float = 120.0) -> None:
        self.profile, self.width, self.height, self.timeout = profile, width, height, timeout
        self.buffer, self.next_id, self.session = b"", 0, ""

    def __enter__(self) -> Browser:
        chromium = shutil.which("chromium")
        if chromium is None:
            raise BrowserError("chromium is not installed: apt-get install -y --no-install-recommends chromium")
        commands_read, self.commands = os.pipe()
        self.answers, answers_write = os.pipe()
        # Chromium wants them as fds 3 and 4: a shell puts them there and execs it.
        child_read = fcntl.fcntl(commands_read, fcntl.F_DUPFD_CLOEXEC, 10)
        child_write = fcntl.fcntl(answers_write, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(commands_read)
        os.close(answers_write)
        wiring = f'exec "$@" 3<&{child_read} 4>&{child_write} {child_read}<&- {child_write}>&-'
        arguments = [
            chromium,
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--disable-gpu",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            *(["--no-sandbox"] if os.geteuid() == 0 else []),  # Chromium's sandbox refuses to run as root
            "about:blank",
        ]
        self.process = subprocess.Popen(
            ["bash", "-c", wiring, "chromium", *arguments],
            pass_fds=(child_read, child_write),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_read)
        os.close(child_write)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", session=False)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.commands)
        os.close(self.answers)

    def call(self, method: str, *, session: bool = True, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events arriving meanwhile are not needed here)."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.answers], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self.answers, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the pipe")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    @staticmethod
    def quote(text: str) -> str:
        """`text` as a JavaScript string literal."""
        return json.dumps(text)

    def run_js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_js(self, condition: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.run_js(f"Boolean({condition})"):
                    return
            except BrowserError:
                pass  # a page being replaced by the next one has no context to evaluate in for a moment
            if time.monotonic() > deadline:
                raise BrowserError(f"not true within {timeout:.0f} s: {condition}")
            time.sleep(0.25)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_js("document.readyState === 'complete'", self.timeout)

    def screenshot(self, *, x: float, y: float, width: float, height: float, scale: float) -> bytes:
        clip = {"x": x, "y": y, "width": width, "height": height, "scale": scale}
        shot = self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
        return base64.b64decode(shot["data"])
