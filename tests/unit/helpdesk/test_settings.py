"""The bridge's settings: RT is optional, its token a secret, the queue map checked at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.helpdesk.bootstrap import configured
from services.helpdesk.settings import HelpdeskSettings
from shared.settings import DEVELOPMENT_ADMIN_KEY
from tests.unit.helpdesk.conftest import helpdesk_settings


def test_without_an_rt_url_the_bridge_has_nothing_to_do(tmp_path: Path) -> None:
    settings = helpdesk_settings(tmp_path)
    assert not settings.connected
    assert not configured(settings)
    assert settings.port == 8003


def test_an_rt_url_needs_its_token(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="FIRSTCALL_HELPDESK_RT_TOKEN is required"):
        helpdesk_settings(tmp_path, rt_url="http://rt.example.com/")


def test_the_token_is_never_shown(tmp_path: Path) -> None:
    settings = helpdesk_settings(tmp_path, rt_url="http://rt.example.com/", rt_token="1-14-secret-token-value")
    assert "secret-token-value" not in repr(settings)
    assert "secret-token-value" not in str(settings.model_dump())


def test_production_needs_a_router_key_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="FIRSTCALL_HELPDESK_ROUTER_API_KEY is required in production"):
        HelpdeskSettings(
            environment="production",
            secret_key="s" * 40,
            admin_api_key="a" * 40,
            rt_url="http://rt.example.com/",
            rt_token="t",
            data_dir=tmp_path,
        )


def production(tmp_path: Path, **overrides: str) -> HelpdeskSettings:
    values: dict[str, Any] = {
        "environment": "production",
        "secret_key": "s" * 40,
        "admin_api_key": "a" * 40,
        "rt_url": "http://rt.example.com/",
        "rt_token": "1-14-6ad884f46ceb061232c60e7a35c679ce",
        "router_api_key": "r" * 40,
        **overrides,
    }
    return HelpdeskSettings(**values, data_dir=tmp_path)


@pytest.mark.parametrize("token", ["REPLACE-ME", "changeme", " replace-me-with-the-rt-token ", "1-14-abc", ""])
def test_production_refuses_a_placeholder_rt_token(tmp_path: Path, token: str) -> None:
    with pytest.raises(ValidationError, match="FIRSTCALL_HELPDESK_RT_TOKEN must be the auth token RT issued"):
        production(tmp_path, rt_token=token)


@pytest.mark.parametrize("key", ["REPLACE-ME", DEVELOPMENT_ADMIN_KEY])
def test_production_refuses_a_placeholder_or_development_router_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValidationError, match="FIRSTCALL_HELPDESK_ROUTER_API_KEY must be a router key"):
        production(tmp_path, router_api_key=key)


def test_production_takes_a_token_rt_issued_and_development_any_token(tmp_path: Path) -> None:
    assert production(tmp_path).connected
    assert helpdesk_settings(tmp_path, rt_url="http://rt.example.com/", rt_token="REPLACE-ME").connected


@pytest.mark.parametrize("key", ["billing", "queue:billing", "team:", "x" * 201])
def test_queue_map_keys_name_a_team_or_an_intent(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValidationError, match="queue_map"):
        helpdesk_settings(tmp_path, queue_map={key: "firstcall-billing"})


def test_the_team_queue_wins_over_the_intent_queue(tmp_path: Path) -> None:
    settings = helpdesk_settings(
        tmp_path, queue_map={"team:payments": "firstcall-billing", "intent:outage": "firstcall-technical"}
    )
    assert settings.queue_for(team="payments", intent="outage") == "firstcall-billing"
    assert settings.queue_for(team="sales", intent="outage") == "firstcall-technical"
    assert settings.queue_for(team=None, intent=None) is None


def test_the_queue_map_comes_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIRSTCALL_HELPDESK_QUEUE_MAP", '{"intent:refund_request": "firstcall-billing"}')
    assert HelpdeskSettings(data_dir=tmp_path).queue_for(intent="refund_request") == "firstcall-billing"
