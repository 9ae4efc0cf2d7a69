"""Values the router reads from clients exactly as written (shared/web/inputs.py says why): every date-time
and every integer of a request body is one of these types. Kept here so the router's modules import them
from one place of their own."""

from __future__ import annotations

from shared.web.inputs import DATE_TIME_MESSAGE, Instant, Integer

__all__ = ["DATE_TIME_MESSAGE", "Instant", "Integer"]
