"""Exit codes scripts can rely on: 0 ok, 1 error, 2 usage, 3 not found, 4 unreachable."""

from __future__ import annotations

import socket

import pytest

from services.cli import main
from services.ops.errors import Exit


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def kafka_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_BUS", "kafka")
    monkeypatch.setenv("FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{closed_port()}")


def test_version_names_the_package_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("firstcall ")


def test_bad_arguments_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["events", "tail", "tickets", "--limit", "0"])
    assert exited.value.code == Exit.USAGE
    assert "between 1 and 1000000" in capsys.readouterr().err


def test_a_kafka_command_on_the_embedded_bus_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIRSTCALL_BUS", "memory")
    assert main(["lag"]) == Exit.USAGE
    assert "FIRSTCALL_BUS=kafka" in capsys.readouterr().err


@pytest.mark.usefixtures("kafka_nowhere")
def test_kafka_that_does_not_answer_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lag"]) == Exit.UNREACHABLE
    assert "did not answer" in capsys.readouterr().err


@pytest.mark.usefixtures("kafka_nowhere")
def test_a_replay_that_names_no_letters_is_refused_before_anything_is_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dead-letters", "replay"]) == Exit.USAGE
    assert "--all" in capsys.readouterr().err


@pytest.mark.usefixtures("kafka_nowhere")
def test_a_letter_id_of_no_group_is_a_usage_error() -> None:
    assert main(["dead-letters", "show", "billing/0/1"]) == Exit.USAGE


def test_a_ticket_id_that_is_no_uuid_is_a_usage_error() -> None:
    assert main(["tickets", "show", "42"]) == Exit.USAGE


def test_a_notifier_that_does_not_answer_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_NOTIFIER_PORT", str(closed_port()))
    assert main(["problems", "list"]) == Exit.UNREACHABLE


def test_a_database_that_does_not_answer_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_DATABASE_URL", f"postgresql+asyncpg://u:p@127.0.0.1:{closed_port()}/x_{{service}}")
    assert main(["db", "current", "router"]) == Exit.UNREACHABLE
    assert main(["outbox", "--service", "router"]) == Exit.UNREACHABLE


def test_settings_the_services_would_refuse_are_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIRSTCALL_NOTIFIER_PORT", "0")
    assert main(["problems", "list"]) == Exit.USAGE
    assert "settings are refused" in capsys.readouterr().err


@pytest.mark.usefixtures("kafka_nowhere")
def test_more_repeated_values_than_the_bound_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dead-letters", "replay", *["knowledge/0/1"] * 1001]) == Exit.USAGE
    assert "at most 1000" in capsys.readouterr().err
