"""One BLAS thread per served process (shared/blas.py), checked in a child process that starts with two, as
OpenBLAS does on a two-core machine: the test run's own pools are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio
    from types import SimpleNamespace

    import numpy
    from shared.metrics import ServiceMetrics
    from shared import blas
    from shared.web.app import create_service_app

    before = [pool["num_threads"] for pool in blas.blas_pools()]
    assert before and all(n == 2 for n in before), before


    class Runtime:  # what a service app reads of its runtime
        name = "t"
        settings = SimpleNamespace(max_body_bytes=1024, http_max_in_flight=1, http_queue_timeout_ms=1)
        metrics = ServiceMetrics("t")
        started = False

        async def start(self):
            Runtime.started = True

        async def stop(self):
            pass


    async def serve_once():
        app = create_service_app(Runtime(), title="t", description="d", routers=[])
        async with app.router.lifespan_context(app):
            return [pool["num_threads"] for pool in blas.blas_pools()]


    during = asyncio.run(serve_once())
    assert Runtime.started
    assert during == [1] * len(before), during
    print("ok")
    """
)


def test_a_started_service_limits_blas_to_one_thread() -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
