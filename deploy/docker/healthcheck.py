"""Docker HEALTHCHECK of the firstcall image: GET /healthz of the service this container serves.

One image runs any of the three services, each on its own port (FIRSTCALL_<SERVICE>_PORT, else
FIRSTCALL_PORT, else 8000/8001/8002), so the port comes from that service's settings class, read from the
container's environment exactly as the service read it, instead of being hard-coded here. The service is
taken from PID 1's command line (`firstcall serve <service>`, also found behind an init such as tini).
One-off commands (`topics`, `db upgrade`) serve no HTTP and count as healthy. Only the standard library
plus the service's settings module are imported, to keep each check cheap. Kubernetes ignores HEALTHCHECK
(deploy/k8s has its own probes); this serves `docker run` and anything else that reads it.
"""

from __future__ import annotations

import importlib
import sys
import urllib.request
from pathlib import Path

from shared.settings import ServiceSettings

WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


def main() -> int:
    args = [arg.decode() for arg in Path("/proc/1/cmdline").read_bytes().split(b"\0") if arg]
    if "serve" not in args[:-1]:
        return 0
    service = args[args.index("serve") + 1]
    module = importlib.import_module(f"services.{service}.settings")
    settings_class = next(
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, ServiceSettings) and value.service_name == service
    )
    settings = settings_class()
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    if ":" in host:
        host = f"[{host}]"
    with urllib.request.urlopen(f"http://{host}:{settings.port}/healthz", timeout=3) as response:
        return 0 if response.status == 200 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # any failure is "unhealthy"; Docker keeps this line in the health log
        print(f"unhealthy: {exc!r}", file=sys.stderr)
        sys.exit(1)
