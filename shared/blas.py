"""NumPy's linear algebra on the calling thread alone.

OpenBLAS (under NumPy and scikit-learn) starts a thread per core and, after each matrix product, keeps them
busy-waiting a while for the next one. A service's products are small (a report's vector against 512
postings or 1,024 centroids, well under a millisecond on one core) and come every few milliseconds, so that
thread never slept: in the notifier's scale benchmark it held one of the machine's two cores at 100% the
whole run, the core PostgreSQL and the encoder needed (detection p99 at a million reports 22.8 ms with it,
20.8 without, same session). Training the router's intent model on one thread takes a little longer; it
runs in the background and no longer competes with requests.

threadpoolctl comes with scikit-learn, which requires it (uv.lock pins both).
"""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits


def use_one_thread() -> None:
    """Limit the BLAS libraries loaded in this process to one thread (call once a service starts)."""
    threadpool_limits(limits=1, user_api="blas")


def blas_pools() -> list[dict[str, object]]:
    """The BLAS thread pools loaded in this process, as threadpoolctl describes them."""
    return [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
