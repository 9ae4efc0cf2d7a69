"""Processes a service starts end with it, also when the service is killed.

A worker that outlives its service is a leak no one sees: after a SIGKILL (an OOM kill, a pod evicted, a
test tearing a process down) an intent-training worker holding 238 MB and its resource tracker stayed
behind, orphaned. On Linux a child asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG); it
then checks that the parent it was started for is still its parent, since the parent may have died
before the request was made. Elsewhere the request is skipped (only Linux runs services here).
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from multiprocessing.pool import Pool
from typing import Any, TypeVar

PARENT_PID_VARIABLE = "FIRSTCALL_PARENT_PID"
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def die_with_parent(parent_pid: int) -> None:
    """In a child: be killed with SIGKILL when `parent_pid`, the process that started it, dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request above: nobody is waiting for this child


def die_with_parent_from_environment() -> None:
    """In a child started with `child_environment()`: die with that parent (no-op when started otherwise)."""
    parent = os.environ.get(PARENT_PID_VARIABLE, "")
    if parent.isdigit():
        die_with_parent(int(parent))


def child_environment() -> dict[str, str]:
    """The environment for a script child that calls `die_with_parent_from_environment()` first."""
    return {**os.environ, PARENT_PID_VARIABLE: str(os.getpid())}


def _pool_worker(parent_pid: int) -> None:
    """A pool worker dies with its parent and leaves Ctrl-C to it: the terminal sends SIGINT to the whole
    process group, and a worker interrupted mid-task prints a traceback the parent's clean stop then hides."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)


def worker_pool(processes: int = 1) -> Pool:
    """A spawned pool whose workers die with this process; `Pool.terminate()` ends them at stop.

    spawn, not fork: forking a process that runs an event loop and driver threads can deadlock.
    """
    context = multiprocessing.get_context("spawn")
    return context.Pool(processes, initializer=_pool_worker, initargs=(os.getpid(),))


async def run_in_pool(pool: Pool, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in one of the pool's workers, awaited without blocking the event loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def done(result: T) -> None:
        loop.call_soon_threadsafe(_settle, future, result, None)

    def failed(error: BaseException) -> None:
        loop.call_soon_threadsafe(_settle, future, None, error)

    pool.apply_async(function, args, callback=done, error_callback=failed)
    return await future


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled meanwhile (the service stopping)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
