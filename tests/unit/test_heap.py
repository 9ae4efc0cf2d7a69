"""Freezing a served process's long-lived state (in a child process: freezing the test run would keep every
test's garbage cycles)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from shared import heap

SCRIPT = textwrap.dedent(
    """
    import gc
    from shared import heap

    heap.settle_again()  # a process that never settled (a test run) is left alone
    assert gc.get_freeze_count() == 0
    model = [[n] for n in range(50_000)]  # long-lived state, as a loaded model (lists are tracked)
    heap.settle()
    frozen = gc.get_freeze_count()
    assert frozen >= 50_000, frozen
    assert sum(gc.get_count()) < 10  # nothing left young
    newer = [[n] for n in range(10_000)]  # a model loaded later
    heap.settle_again()
    assert gc.get_freeze_count() >= frozen + 10_000
    del model  # frozen objects are still freed by reference counting
    print("ok")
    """
)


def test_settling_freezes_what_lives_and_settling_again_only_in_a_settled_process() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


FAULTS = textwrap.dedent(
    """
    import asyncio, resource, struct, sys
    from types import SimpleNamespace

    import numpy as np
    from shared import heap
    from shared.metrics import ServiceMetrics
    from shared.web.app import create_service_app


    class Runtime:  # what a service app reads of its runtime
        name = "t"
        settings = SimpleNamespace(max_body_bytes=1024, http_max_in_flight=1, http_queue_timeout_ms=1)
        metrics = ServiceMetrics("t")

        async def start(self):
            pass

        async def stop(self):
            pass


    async def serve_once():
        app = create_service_app(Runtime(), title="t", description="d", routers=[])
        async with app.router.lifespan_context(app):
            pass


    if sys.argv[1] == "kept":
        assert heap.reuse_freed_memory()
    if sys.argv[1] == "served":
        asyncio.run(serve_once())
    from services.notifier.detection.embedding import unit_matrix

    rng = np.random.default_rng(0)
    # 512 stored vectors of the embedding index, as a probe reads them (a 400 KB join, two 1.5 MB arrays)
    stored = [struct.pack("<If", 1, 0.01) + rng.integers(-127, 128, 768).astype(np.int8).tobytes() for _ in range(512)]

    def faults() -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            unit_matrix(stored, 768)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    faults()  # the first round may grow the heap
    print(faults())
    """
)


def _page_faults(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def test_reusing_freed_memory_spares_the_page_faults_of_large_temporaries() -> None:
    # By default glibc maps and unmaps these blocks on each call: their pages fault again every time
    # (about 730 per call, 14,700 in 20). Kept, the second round reuses the first one's pages.
    assert _page_faults("default") > 5_000
    assert _page_faults("kept") < 200


def test_a_started_service_keeps_freed_memory() -> None:
    assert _page_faults("served") < 200


def test_the_collector_is_paused_for_a_section_and_resumes_after_the_last_overlapping_one() -> None:
    assert gc.isenabled()
    outer, inner = heap.collector_paused(), heap.collector_paused()
    outer.__enter__()
    inner.__enter__()  # a second section overlapping the first, as two tasks of one event loop may
    assert not gc.isenabled()
    outer.__exit__(None, None, None)
    assert not gc.isenabled()  # the other one is still inside
    inner.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_paused_section_runs_no_collection_and_the_next_allocation_after_it_does() -> None:
    collections: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append("ran")

    gc.callbacks.append(note)
    try:
        with heap.collector_paused():
            garbage = [[[n]] for n in range(20_000)]  # far past the young generation's threshold
            assert collections == []
        del garbage
        [[n] for n in range(5_000)]  # allocations after the section start the collections it held off
        assert collections
    finally:
        gc.callbacks.remove(note)


def test_a_collector_turned_off_before_a_section_stays_off_after_it() -> None:
    gc.disable()
    try:
        with heap.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
