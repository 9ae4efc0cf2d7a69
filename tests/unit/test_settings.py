"""Settings: embedded defaults, per-service overrides, and no shipped secret outside development."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from services.knowledge.settings import KnowledgeSettings
from services.router.settings import RouterSettings
from shared.logs import RepeatFilter
from shared.settings import DEVELOPMENT_ADMIN_KEY, BusKind


def test_defaults_are_the_embedded_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FIRSTCALL_BUS", "FIRSTCALL_DATABASE_URL", "FIRSTCALL_DATA_DIR", "FIRSTCALL_ROUTER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = RouterSettings()
    assert settings.bus is BusKind.MEMORY
    assert settings.resolved_database_url() == "sqlite+aiosqlite:///data/router.db"
    assert settings.port == 8000
    assert KnowledgeSettings().port == 8001


def test_one_database_template_gives_each_service_its_own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_DATABASE_URL", "postgresql+asyncpg://u:p@db:5432/firstcall_{service}")
    assert RouterSettings().resolved_database_url().endswith("/firstcall_router")
    assert KnowledgeSettings().resolved_database_url().endswith("/firstcall_knowledge")


def test_service_specific_variables_beat_the_shared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_PORT", "9000")
    monkeypatch.setenv("FIRSTCALL_ROUTER_PORT", "9100")
    monkeypatch.setenv("FIRSTCALL_LOG_LEVEL", "DEBUG")
    assert RouterSettings().port == 9100
    assert RouterSettings().log_level == "DEBUG"
    assert KnowledgeSettings().port == 9000


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_ENVIRONMENT", "production")
    monkeypatch.setenv("FIRSTCALL_ADMIN_API_KEY", "a" * 40)
    monkeypatch.delenv("FIRSTCALL_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="FIRSTCALL_SECRET_KEY"):
        RouterSettings()
    monkeypatch.setenv("FIRSTCALL_SECRET_KEY", "too-short")
    with pytest.raises(ValidationError, match="FIRSTCALL_SECRET_KEY"):
        RouterSettings()
    monkeypatch.setenv("FIRSTCALL_SECRET_KEY", "x" * 40)
    assert RouterSettings().secret_key.get_secret_value() == "x" * 40


def test_topic_prefix_isolates_physical_topic_names() -> None:
    assert RouterSettings(kafka_topic_prefix="t1.").topic("firstcall.tickets") == "t1.firstcall.tickets"


def test_repeated_log_lines_of_one_kind_are_let_through_once_per_window() -> None:
    repeats = RepeatFilter(window=60)

    def record(message: str, at: float) -> logging.LogRecord:
        entry = logging.makeLogRecord({"name": "aiokafka", "msg": message})
        entry.created = at
        return entry

    assert repeats.filter(record("Unable connect to node %s", 0.0))
    assert not repeats.filter(record("Unable connect to node %s", 10.0))
    assert repeats.filter(record("Another message", 10.0))
    assert repeats.filter(record("Unable connect to node %s", 61.0))


def test_production_requires_its_own_admin_key_and_development_gets_a_known_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FIRSTCALL_ADMIN_API_KEY", raising=False)
    assert RouterSettings().admin_api_key is not None
    monkeypatch.setenv("FIRSTCALL_ENVIRONMENT", "production")
    monkeypatch.setenv("FIRSTCALL_SECRET_KEY", "s" * 40)
    with pytest.raises(ValidationError, match="FIRSTCALL_ADMIN_API_KEY"):
        RouterSettings()
    monkeypatch.setenv("FIRSTCALL_ADMIN_API_KEY", DEVELOPMENT_ADMIN_KEY)
    with pytest.raises(ValidationError, match="FIRSTCALL_ADMIN_API_KEY"):
        RouterSettings()
    monkeypatch.setenv("FIRSTCALL_ADMIN_API_KEY", "k" * 40)
    assert RouterSettings().admin_api_key.get_secret_value() == "k" * 40  # type: ignore[union-attr]
