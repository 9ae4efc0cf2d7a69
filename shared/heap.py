"""Keeping a long-running service's memory management out of its latency: the cyclic garbage collector's
pauses, and the allocator's page faults.

A service holds large long-lived structures (the intent model's vocabularies, search indexes, sentence
encoders): about 235,000 container objects in the router once its model is loaded. CPython's full
collection scans every one of them, which took 165 ms on the 2-core machine, and it runs every so often
under load, stalling every request in flight. Freezing moves what is alive into a permanent generation the
collector no longer scans; reference counting still frees it as usual, so only frozen objects that later
become unreachable *cycles* stay (the structures frozen here live as long as the process, or are replaced
whole, which refcounting handles).

glibc's malloc hands freed memory back to the kernel eagerly: a block of 128 KiB or more is mapped on
allocation and unmapped on free (the threshold rises only past blocks of the same size), and the top of the
heap is trimmed once 128 KiB lie free there. Every page handed back faults again when next used, and in a
virtual machine a fault costs microseconds: turning 512 stored vectors of the embedding index into a 1.5 MB
matrix took 1.9 ms on the 2-core VM, 0.2 ms with the memory kept (docs/decisions/0025-freed-memory-kept-for-reuse.md).
`reuse_freed_memory` keeps it for reuse: RSS stays at its high-water mark, bounded by the process's peak
working set plus the trim threshold.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import platform
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)

# mallopt's parameters (malloc.h), and the sizes set: blocks under 32 MiB (glibc's own ceiling for its
# moving threshold) come from the heap, and up to 64 MiB may lie free at its top before it is trimmed.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**20


def reuse_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of returning it to the kernel (call once a
    service starts); False, changing nothing, where the C library is not glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    applied = all(
        libc.mallopt(ctypes.c_int(parameter), ctypes.c_int(value)) == 1
        for parameter, value in ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    )
    log.info("malloc keeps freed memory: %s", applied)
    return applied


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


class _Pauses:
    inside = 0  # sections inside `collector_paused` now (they may overlap in one event loop)
    resume = False  # whether the outermost one found the collector on, to turn it back on


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic runs of the cyclic garbage collector while this section runs: its next run comes after.

    For short sections that hold up others, the notifier's detection lock above all (it serialises every
    replica's intake): a report's detection allocates thousands of objects (rows, vectors), enough for
    several young collections, and now and then an older one that took 2 ms
    (docs/decisions/0023-no-garbage-collection-under-the-detection-lock.md).
    Reference counting still frees as usual; only cycles wait. Sections may overlap in an event loop: the
    collector is on again when the last ends, and left off if something else had turned it off."""
    if _Pauses.inside == 0:
        _Pauses.resume = gc.isenabled()
        gc.disable()
    _Pauses.inside += 1
    try:
        yield
    finally:
        _Pauses.inside -= 1
        if _Pauses.inside == 0 and _Pauses.resume:
            gc.enable()
