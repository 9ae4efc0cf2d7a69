"""What a start needs from the machine, checked before it is needed: a taken port, a full disk or too little
memory is one line saying what to do, not a traceback a minute into the start.
"""

from __future__ import annotations

import errno
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

MEMINFO = Path("/proc/meminfo")
MB = 2**20
BACKLOG = 2048  # uvicorn's


class DiskUsage(Protocol):
    @property
    def free(self) -> int: ...


class StartFailure(RuntimeError):
    """The machine cannot give a start what it needs; the message is one line saying what to do."""


def listening_socket(host: str, port: int, *, service: str) -> socket.socket:
    """A socket bound to `host:port` for uvicorn to serve on, bound now so that a taken port is said at once
    (and no other program can take it while the rest starts)."""
    # The family and options uvicorn itself would choose for this host, so the service listens where it did.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart reuses the port at once
    try:
        sock.bind((host, port))
        # Listening now holds the port (two bound sockets may share it until one listens); callers during
        # the rest of the start wait in the backlog and are answered once the server runs.
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        variable = f"FIRSTCALL_{service.upper()}_PORT"
        if exc.errno == errno.EADDRINUSE:
            raise StartFailure(
                f"port {port} ({service}) is taken by another program, or firstcall is already running: "
                f"stop it, or give the {service} another port with {variable}={port + 10}"
            ) from None
        if exc.errno == errno.EACCES:
            raise StartFailure(
                f"port {port} ({service}) needs privileges this user lacks: choose a port above 1023 with {variable}"
            ) from None
        raise StartFailure(f"cannot listen on {host}:{port} ({service}): {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def check_disk(
    path: Path, need: int, *, purpose: str, remedy: str, usage: Callable[[Path], DiskUsage] = shutil.disk_usage
) -> None:
    """Raise StartFailure unless the file system holding `path` (or its nearest existing parent) has `need`
    bytes free."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    free = usage(existing).free
    if free < need:
        raise StartFailure(
            f"{purpose} needs {need // MB} MB free in {existing} and {free // MB} MB are: free some space, or {remedy}"
        )


def available_memory(meminfo: str) -> int | None:
    """Bytes the kernel can give without swapping (MemAvailable of /proc/meminfo), None if it does not say."""
    for line in meminfo.splitlines():
        name, _, value = line.partition(":")
        if name == "MemAvailable":
            return int(value.split()[0]) * 1024
    return None


def check_memory(need: int, *, purpose: str, remedy: str, meminfo: Path | None = None) -> None:
    """Raise StartFailure unless `need` bytes of memory are available (unchecked where nothing says)."""
    try:
        available = available_memory((meminfo or MEMINFO).read_text())
    except OSError:
        return  # not Linux: let the build try
    if available is not None and available < need:
        raise StartFailure(
            f"{purpose} needs about {need / 2**30:.1f} GB of memory and {available / 2**30:.1f} GB is available: "
            f"close other programs and start again, or {remedy}"
        )
