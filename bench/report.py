"""Markdown tables and the facts of the machine they were measured on."""

from __future__ import annotations

import math
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Section:
    """One benchmark's result: what it measures, its table, and what to know when reading it."""

    name: str
    title: str
    about: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.name}: {self.title}", "", self.about, "", table(self.headers, self.rows)]
        if self.notes:
            lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines) + "\n"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; columns after the first two are right-aligned (they hold numbers)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * w if i < 2 else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(headers), line(rule), *(line(r) for r in rows)])


def ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def machine_facts(command: str) -> str:
    """The run's facts as a table; `command` is Markdown (the exact command, in backticks)."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), model)
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    facts = [
        ("date", datetime.now(UTC).isoformat(timespec="seconds")),
        ("command", command),
        ("cores", f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable) {model}"),
        ("python", f"{platform.python_implementation()} {sys.version.split()[0]}"),
        ("system", platform.platform()),
        ("load average at start", load),
    ]
    return table(["fact", "value"], [[k, v] for k, v in facts])


@dataclass
class PrintedSection:
    """A benchmark that renders its own Markdown (the quality and index benchmarks)."""

    text: str
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        return self.text.rstrip() + "\n" + "".join(f"- {note}\n" for note in self.notes)
