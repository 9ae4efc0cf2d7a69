"""Processes a service starts end with it, even when the service is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shared import children

POOL_PARENT = """
    import os, time
    from shared.children import worker_pool
    if __name__ == "__main__":  # spawned workers import this file again
        pool = worker_pool()
        print(pool.apply(os.getpid), flush=True)
        time.sleep(120)
"""
SCRIPT_PARENT = """
    import subprocess, sys, time
    from shared.children import child_environment
    child = subprocess.Popen(
        [sys.executable, "-c", "from shared.children import die_with_parent_from_environment as d; d(); "
         "import time; time.sleep(120)"],
        env=child_environment(),
    )
    print(child.pid, flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper (an orphan's exit is reaped by whoever adopted it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in {"Z", "X"}


@pytest.mark.parametrize("parent_code", [POOL_PARENT, SCRIPT_PARENT], ids=["pool-worker", "script-child"])
def test_a_child_dies_when_its_service_is_killed(tmp_path: Path, parent_code: str) -> None:
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(parent_code))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        _wait_until(lambda: _alive(child_pid))
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        _wait_until(lambda: not _alive(child_pid))
    finally:
        if parent.poll() is None:
            parent.kill()


def _wait_until(probe: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"not seen within {timeout}s"
        time.sleep(0.05)


def _double(value: int) -> int:
    return value * 2


def _fail(message: str) -> int:
    raise ValueError(message)


async def test_work_in_a_pool_is_awaited_with_its_result_or_its_error() -> None:
    pool = children.worker_pool()
    try:
        assert await children.run_in_pool(pool, _double, 21) == 42
        with pytest.raises(ValueError, match="no model"):
            await children.run_in_pool(pool, _fail, "no model")
    finally:
        pool.terminate()
        pool.join()


def _sigint_handler() -> object:
    return signal.getsignal(signal.SIGINT)


async def test_pool_workers_leave_ctrl_c_to_their_parent() -> None:
    pool = children.worker_pool()
    try:
        assert await children.run_in_pool(pool, _sigint_handler) == signal.SIG_IGN
    finally:
        pool.terminate()
        pool.join()
