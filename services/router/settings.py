"""The router's settings (FIRSTCALL_* and FIRSTCALL_ROUTER_* variables)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    service_name: ClassVar[str] = "router"

    port: int = Field(8000, ge=1, le=65535, description="HTTP port of the router")
