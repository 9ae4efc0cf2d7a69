"""Structured logging with a correlation id that follows a request through HTTP and events.

The id arrives in the `X-Correlation-ID` header (or is minted), is stamped on every event the request
causes (the `correlationid` CloudEvents extension), and is restored by consumers before they handle an
event, so one customer's call can be followed across the three services in the logs.
"""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

CORRELATION_HEADER = "X-Correlation-ID"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# In embedded mode three services share one process; each request and handler says whose work it is.
_service: ContextVar[str | None] = ContextVar("service", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and belongs in the JSON.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def correlation_id() -> str | None:
    """The correlation id of the work in progress, if any."""
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> None:
    """Bind a correlation id to the current task (HTTP request or event handling)."""
    _correlation_id.set(value)


def current_service() -> str | None:
    """The service the current task logs as (None: the process's default)."""
    return _service.get()


def set_service(name: str) -> None:
    """Name the service doing the current task, for log lines in a shared process."""
    _service.set(name)


def new_correlation_id() -> str:
    """Mint an id for work that did not bring one."""
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers and `jq` expect."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": _service.get() or self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (cid := correlation_id()) is not None:
            entry["correlation_id"] = cid
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """Readable lines for a developer's terminal, still carrying the correlation id."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if (service := _service.get()) is not None:
            line = f"{service:<9} {line}"
        cid = correlation_id()
        return f"{line} [cid={cid}]" if cid else line


class RepeatFilter(logging.Filter):
    """Let one line of each kind through per `window` seconds.

    While a broker is down aiokafka logs the same reconnect error several times a second; one line a
    minute says as much, and the outage itself is reported by /readyz and the firstcall_bus_up metric.
    """

    def __init__(self, window: float = 60.0) -> None:
        super().__init__()
        self.window = window
        self._last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        last = self._last.get(key)
        if last is not None and record.created - last < self.window:
            return False
        self._last[key] = record.created
        return True


def configure_logging(*, service: str, level: str, fmt: str) -> None:
    """Route all logging to stdout in the chosen format (called once per process)."""
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request: the bridge polls RT every 2 s
    handler.addFilter(_AiokafkaRepeats())


class _AiokafkaRepeats(RepeatFilter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("aiokafka") or super().filter(record)
