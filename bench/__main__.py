"""Run the benchmarks and print one Markdown table per benchmark, each with its baseline from this run.

    python -m bench                      # all of them, as `make bench` does (notifier_scale alone: 20-40 min)
    python -m bench ticket_open --quick  # one of them, short durations (a smoke run, not a measurement)

The real stack must be running (`make up`) and its environment exported (`source var/stack.env`).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import (
    burst,
    context,
    event_latency,
    helpdesk_sync,
    intents,
    knowledge_intake,
    knowledge_latency,
    knowledge_quality,
    knowledge_suggest,
    notifier_batch,
    notifier_frontier,
    notifier_quality,
    notifier_replicas,
    notifier_scale,
    ticket_open,
)
from bench.load import LoadProcess, background_cpu
from bench.report import PrintedSection, Section, machine_facts
from tests.stack import unreachable_parts

Benchmark = Callable[..., Section | PrintedSection]
BUSY = 0.25  # cores of background load above which a run is flagged


def printed(run: Callable[[bool], str]) -> Benchmark:
    """Adapt a benchmark that prints its own tables (and needs no load generator or scratch folder)."""

    def adapted(*, quick: bool, workdir: Path, load: LoadProcess) -> PrintedSection:
        return PrintedSection(run(quick))

    return adapted


BENCHMARKS: dict[str, Benchmark] = {
    ticket_open.NAME: ticket_open.run,
    event_latency.NAME: event_latency.run,
    context.NAME: context.run,
    burst.NAME: burst.run,
    helpdesk_sync.NAME: helpdesk_sync.run,
    "knowledge_quality": printed(knowledge_quality.run),
    "knowledge_latency": printed(knowledge_latency.run),
    "knowledge_suggest": printed(knowledge_suggest.run),
    "knowledge_intake": printed(knowledge_intake.run),
    "intents": printed(intents.run),
    "notifier_quality": printed(notifier_quality.run),
    "notifier_scale": printed(notifier_scale.run),
    "notifier_batch": printed(notifier_batch.run),
    "notifier_replicas": printed(notifier_replicas.run),
    "notifier_frontier": printed(notifier_frontier.run),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="short durations: a smoke run, not a measurement")
    parser.add_argument("--logs", metavar="DIR", type=Path, help="keep the servers' logs in DIR (default: discarded)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    down = unreachable_parts()
    if down:
        print(f"{' and '.join(down)} not reachable: start the stack with `make up`", file=sys.stderr)
        return 2
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    command = shlex.join([python, "-m", "bench", *(argv if argv is not None else sys.argv[1:])])
    if not args.names and not args.quick:
        command = f"`{command}` (what `make bench` runs, after `make up` and `source var/stack.env`)"
    else:
        command = f"`{command}`"
    print("# firstcall benchmarks" + (" (--quick: a smoke run, not a measurement)" if args.quick else ""))
    print()
    print(machine_facts(command))
    print(flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="firstcall-bench-") as scratch, LoadProcess() as load:
        workdir = Path(scratch)
        if args.logs is not None:
            workdir = args.logs
            workdir.mkdir(parents=True, exist_ok=True)
        for name in args.names or list(BENCHMARKS):
            idle = background_cpu()
            section = BENCHMARKS[name](quick=args.quick, workdir=workdir, load=load)
            section.notes.append(
                f"background CPU just before this benchmark (nothing of ours running): {idle:.2f} cores"
            )
            if idle > BUSY:
                section.notes.append(
                    f"WARNING: other programs kept {idle:.2f} cores busy; these numbers measure a shared machine"
                )
            print(section.markdown(), flush=True)
    print(f"All benchmarks took {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
