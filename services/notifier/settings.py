"""The notifier's settings (FIRSTCALL_* and FIRSTCALL_NOTIFIER_* variables)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    service_name: ClassVar[str] = "notifier"

    port: int = Field(8002, ge=1, le=65535, description="HTTP port of the notifier")
