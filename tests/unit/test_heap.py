"""Freezing a served process's long-lived state (in a child process: freezing the test run would keep every
test's garbage cycles)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
