"""Keeping the cyclic garbage collector's pauses short in a long-running service.

A service holds large long-lived structures (the intent model's vocabularies, search indexes, sentence
encoders): about 235,000 container objects in the router once its model is loaded. CPython's full
collection scans every one of them, which took 165 ms on the 2-core machine, and it runs every so often
under load, stalling every request in flight. Freezing moves what is alive into a permanent generation the
collector no longer scans; reference counting still frees it as usual, so only frozen objects that later
become unreachable *cycles* stay (the structures frozen here live as long as the process, or are replaced
whole, which refcounting handles).
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def settle() -> None:
    """Collect what is garbage now, then freeze the rest: call once large long-lived state is built."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "heap settled: %d objects frozen in %.0f ms", gc.get_freeze_count(), (time.perf_counter() - started) * 1000
    )


def settle_again() -> None:
    """`settle` after more long-lived state was built (a new model), in a process that settles at all: a
    served one, not a test run, whose frozen test apps would never be collected."""
    if gc.get_freeze_count():
        settle()
