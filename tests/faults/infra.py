"""The fault tier's own Kafka broker and PostgreSQL cluster, which it may kill and restart.

Other people's tests run on the shared broker (9092) and cluster (55432) at the same time, so this tier never
touches those: it runs the project's own scripts (deploy/kafka.sh, deploy/postgres.sh) on free ports with
data folders in a temporary directory, and kills those processes only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.unit.notifier.receivers import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("router", "knowledge", "notifier")
SCRIPT_TIMEOUT = 180


def _run(script: str, command: str, env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        [str(ROOT / "deploy" / script), command, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"deploy/{script} {command} failed:\n{completed.stderr[-3000:]}")
    return completed.stdout


def _wait_gone(pid: int, timeout: float = 60) -> None:
    """Until `pid` is gone (or a zombie, which holds no port and no file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still alive after {timeout}s")


@dataclass
class OwnKafka:
    """One KRaft broker on free ports; `kill` is a SIGKILL of its JVM, `start` brings it back on its data."""

    home: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "FIRSTCALL_KAFKA_PORT": str(self.port),
            "FIRSTCALL_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "FIRSTCALL_KAFKA_DATA": str(self.home / "kafka"),
        }

    def start(self) -> None:
        _run("kafka.sh", "start", self.env)

    def kill(self) -> None:
        pid = int((self.home / "kafka" / "kafka.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def stop(self) -> None:
        _run("kafka.sh", "stop", self.env)


@dataclass
class OwnPostgres:
    """A cluster initialised in a temporary folder (deploy/postgres.sh runs the system's initdb and pg_ctl).

    `crash` is PostgreSQL's immediate shutdown (SIGQUIT to the postmaster): every session is cut without a
    goodbye and the next start recovers from the WAL, as after a crash of the server process.
    """

    home: Path
    port: int = field(default_factory=free_port)

    @property
    def env(self) -> dict[str, str]:
        return {
            "FIRSTCALL_PG_DATA": str(self.home / "pg"),
            "FIRSTCALL_PG_PORT": str(self.port),
            # The shared cluster takes a quarter of the machine's memory; this one is small and short-lived.
            "FIRSTCALL_PG_SHARED_BUFFERS": "128MB",
            "FIRSTCALL_PG_DATABASES": " ".join(f"firstcall_{service}" for service in SERVICES),
        }

    @property
    def url_template(self) -> str:
        return f"postgresql+asyncpg://firstcall:firstcall@127.0.0.1:{self.port}/firstcall_{{service}}"

    def dsn(self, service: str) -> str:
        return f"postgresql://firstcall:firstcall@127.0.0.1:{self.port}/firstcall_{service}"

    def start(self) -> None:
        _run("postgres.sh", "start", self.env)

    def make_commits_durable(self) -> None:
        """Commit only once the WAL is written, as production does.

        deploy/postgres.sh runs development clusters with `synchronous_commit = off`, which acknowledges a
        commit before its WAL leaves PostgreSQL's memory: a crash of the server then loses the last commits
        (the first run of this tier lost a ticket the router had answered 201 for). ALTER SYSTEM outlives
        the script's own configuration file, which it rewrites at every start.
        """
        sql = ["-c", "ALTER SYSTEM SET synchronous_commit = on", "-c", "SELECT pg_reload_conf()"]
        _run("postgres.sh", "psql", self.env, "--superuser", "-X", "-q", *sql)

    def crash(self) -> None:
        pid = int((self.home / "pg" / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
        _wait_gone(pid)

    def stop(self) -> None:
        _run("postgres.sh", "stop", self.env)


# Runs in a session of its own, so that it outlives this test process however it ends.
_REAPER = r"""
while kill -0 "$REAPER_PARENT" 2>/dev/null && [ -d "$REAPER_HOME" ]; do sleep 1; done
[ -d "$REAPER_HOME" ] || exit 0
for file in "$REAPER_HOME"/pids/*; do
    pid=$(cat "$file" 2>/dev/null) || continue
    # Only a replica of this run: its environment names this run's broker (a pid may have been reused).
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "FIRSTCALL_KAFKA_BOOTSTRAP_SERVERS=$REAPER_KAFKA"; then
        kill -KILL "$pid"
    fi
done
"$REAPER_DEPLOY/kafka.sh" stop
"$REAPER_DEPLOY/postgres.sh" stop
rm -rf "$REAPER_HOME"
"""


def start_reaper(home: Path, kafka: OwnKafka, postgres: OwnPostgres) -> subprocess.Popen[bytes]:
    """A watchdog for a run that dies without its teardown (a CI timeout, a SIGKILL): once this process is
    gone it kills the run's replicas (their pids are in home/pids), stops its broker and cluster (daemons,
    which would otherwise outlive everything) and removes its folder."""
    (home / "pids").mkdir()
    env = {
        **os.environ,
        **kafka.env,
        **postgres.env,
        "REAPER_PARENT": str(os.getpid()),
        "REAPER_HOME": str(home),
        "REAPER_KAFKA": kafka.bootstrap,
        "REAPER_DEPLOY": str(ROOT / "deploy"),
    }
    return subprocess.Popen(
        ["bash", "-c", _REAPER],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def scratch_folder() -> Path:
    """A temporary folder the `postgres` system user can enter (pytest's own tmp root is private to us)."""
    home = Path(tempfile.mkdtemp(prefix="firstcall-faults-"))
    home.chmod(0o755)
    return home


def remove(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
