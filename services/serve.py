"""One service as its own process (the real stack): uvicorn, graceful on SIGTERM."""

from __future__ import annotations

import importlib

import uvicorn

from shared.logs import configure_logging
from shared.settings import ServiceSettings


def serve(service: str) -> int:
    """Run a service until SIGTERM/SIGINT: stop taking requests, finish in-flight work, flush, exit."""
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    settings: ServiceSettings = bootstrap.SETTINGS()
    configure_logging(service=service, level=settings.log_level, fmt=settings.log_format)
    app = bootstrap.create_app(bootstrap.build_runtime(settings))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    return 0
