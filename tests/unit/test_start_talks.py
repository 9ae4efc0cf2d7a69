"""A start that talks (issue 25): a failure the machine causes is one line saying what to do, long steps say
how far along they are, and each database says what its migrations do."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from services.cli import main
from services.embedded import SERVICES, run_embedded, talking_migration
from services.router.bootstrap import MIGRATIONS as ROUTER_MIGRATIONS
from shared import preflight
from shared.db import Database
from shared.preflight import StartFailure, available_memory, check_disk, check_memory, listening_socket
from shared.progress import Step, StepProgress
from shared.text.encoders import MPNET_BUILD_MEMORY, _marked
from tests.factories import service_settings

MEMINFO = """MemTotal:       24683520 kB
MemFree:          812344 kB
MemAvailable:    {available} kB
Buffers:          104552 kB
"""


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_taken_port_is_one_line_naming_the_variable_that_moves_the_service(taken_port: int) -> None:
    with pytest.raises(StartFailure) as failure:
        listening_socket("127.0.0.1", taken_port, service="router")
    message = str(failure.value)
    assert f"port {taken_port} (router) is taken" in message
    assert f"FIRSTCALL_ROUTER_PORT={taken_port + 10}" in message
    assert "\n" not in message


def test_a_free_port_is_bound_for_the_server(unused_tcp_port: int) -> None:
    sock = listening_socket("127.0.0.1", unused_tcp_port, service="knowledge")
    with sock, pytest.raises(StartFailure):
        listening_socket("127.0.0.1", unused_tcp_port, service="knowledge")  # held until served


def test_make_run_on_a_taken_port_prints_one_line_and_exits_1(
    taken_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = [service_settings(name, data_dir=tmp_path, port=taken_port) for name in SERVICES]
    assert run_embedded(settings) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"firstcall: port {taken_port} (router) is taken")
    assert "Traceback" not in err


def test_too_little_disk_for_the_model_cache_says_how_much_and_what_to_do(tmp_path: Path) -> None:
    def almost_full(_: Path) -> SimpleNamespace:
        return SimpleNamespace(free=120 * 2**20)

    with pytest.raises(StartFailure) as failure:
        check_disk(
            tmp_path / "cache" / "mpnet",  # not there yet: its nearest existing parent is measured
            300 * 2**20,
            purpose="building the sentence encoder",
            remedy="set FIRSTCALL_MODEL_CACHE to a disk with room",
            usage=almost_full,
        )
    assert str(failure.value) == (
        f"building the sentence encoder needs 300 MB free in {tmp_path} and 120 MB are: free some space, "
        "or set FIRSTCALL_MODEL_CACHE to a disk with room"
    )


def test_enough_disk_passes(tmp_path: Path) -> None:
    check_disk(tmp_path, 1, purpose="p", remedy="r", usage=lambda _: SimpleNamespace(free=2))


def test_too_little_memory_for_the_encoder_build_says_what_is_available(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO.format(available=1_258_291))  # 1.2 GB
    with pytest.raises(StartFailure) as failure:
        check_memory(
            MPNET_BUILD_MEMORY, purpose="building the sentence encoder", remedy="choose minilm", meminfo=meminfo
        )
    assert str(failure.value) == (
        "building the sentence encoder needs about 2.6 GB of memory and 1.2 GB is available: "
        "close other programs and start again, or choose minilm"
    )


def test_firstcall_encoder_on_a_machine_short_of_memory_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO.format(available=1_048_576))  # 1.0 GB
    monkeypatch.setattr(preflight, "MEMINFO", meminfo)
    monkeypatch.setenv("FIRSTCALL_MODEL_CACHE", str(tmp_path / "cache"))  # nothing built there
    assert main(["encoder", "mpnet"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "firstcall: building the sentence encoder needs about 2.6 GB of memory and 1.0 GB is available: close "
        "other programs and start again, or set FIRSTCALL_NOTIFIER_DETECTION_ENCODER=minilm (lighter)\n"
    )
    assert not (tmp_path / "cache").exists(), "nothing was built"


def test_enough_memory_or_no_reading_lets_the_build_go(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO.format(available=8_000_000))
    check_memory(MPNET_BUILD_MEMORY, purpose="p", remedy="r", meminfo=meminfo)
    check_memory(MPNET_BUILD_MEMORY, purpose="p", remedy="r", meminfo=tmp_path / "absent")
    assert available_memory("MemTotal: 10 kB\n") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


STEPS = [Step("reading", 2), Step("quantising", 6), Step("checking", 2)]


def test_without_a_terminal_each_step_is_one_line_and_the_end_says_how_long() -> None:
    out, clock = io.StringIO(), FakeClock()
    with StepProgress("  model", STEPS, stream=out, tty=False, clock=clock) as progress:
        for index in range(3):
            progress.begin(index)
            clock.now += 3
    assert out.getvalue().splitlines() == [
        "  model (about 10 s, 3 steps)",
        "  [1/3] reading (about 2 s)",
        "  [2/3] quantising (about 6 s)",
        "  [3/3] checking (about 2 s)",
        "  model: done in 9 s",
    ]


def test_on_a_terminal_the_bar_moves_within_a_step_and_never_past_it() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = StepProgress("  model", STEPS, stream=out, tty=True, clock=clock)
    progress.begin(0)
    clock.now += 1
    assert progress.fraction() == pytest.approx(0.1)
    assert "[##" in progress.line()
    assert "reading, about 9 s left" in progress.line()
    clock.now += 60  # far longer than expected: the bar waits at the step's end
    assert progress.fraction() == pytest.approx(0.95 * 2 / 10)
    assert out.getvalue().startswith("\r\033[K  model [")


def test_a_slow_machine_gets_a_later_estimate_from_the_steps_it_finished() -> None:
    clock = FakeClock()
    progress = StepProgress("  model", STEPS, stream=io.StringIO(), tty=False, clock=clock)
    progress.begin(0)
    clock.now += 4  # twice the expected 2 s
    progress.begin(1)
    assert progress.remaining() == pytest.approx(2 * (6 + 2))
    clock.now += 6  # half of the (rescaled) quantising step
    assert progress.fraction() == pytest.approx((2 + 3) / 10)


def test_the_build_child_marks_each_step_as_it_begins(capsys: pytest.CaptureFixture[str]) -> None:
    assert _marked(3, lambda x: x + 1)(1) == 2
    assert capsys.readouterr().out == "firstcall-build-step 3\n"


async def test_migrations_say_what_they_apply_then_that_the_database_is_up_to_date(tmp_path: Path) -> None:
    told: list[str] = []
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/router.db")
    migrate = talking_migration("router", ROUTER_MIGRATIONS, tell=told.append)
    try:
        await migrate(database)
        await migrate(database)
    finally:
        await database.dispose()
    applying, ready, again = told
    assert applying.startswith(f"  router     database {tmp_path}/router.db: applying ")
    assert "migrations, the latest: " in applying
    assert ready.startswith("  router     database ready in ")
    assert again == f"  router     database {tmp_path}/router.db: up to date"
