"""The knowledge service's settings (FIRSTCALL_* and FIRSTCALL_KNOWLEDGE_* variables)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class KnowledgeSettings(ServiceSettings):
    service_name: ClassVar[str] = "knowledge"

    port: int = Field(8001, ge=1, le=65535, description="HTTP port of the knowledge service")
    search_refresh_ms: int = Field(
        200, ge=0, description="how stale this replica's search index may be before a search catches up"
    )
