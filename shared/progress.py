"""Long start-up steps told as they happen: a bar with an estimate on a terminal, one line a step elsewhere.

A step whose own progress cannot be read (onnxruntime's quantisation is one call of ~11 s) moves the bar by
its measured duration, never past its end; each step's real duration rescales the estimate of the rest, so
a loaded machine shows a later, truer finish instead of a bar stuck at 99 %.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

BAR_WIDTH = 24
REDRAW_SECONDS = 0.5
# A step is never drawn as more than this share done before it says it is: the estimate was too short.
STEP_CEILING = 0.95


@dataclass(frozen=True)
class Step:
    """One step and how long it took on the reference machine (2 cores, idle), in seconds."""

    label: str
    seconds: float


class StepProgress:
    """Steps of known expected length, reported on `stream`; `begin(i)` starts step i, `finish()` ends."""

    def __init__(
        self,
        title: str,
        steps: Sequence[Step],
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.title, self.steps, self._clock = title, list(steps), clock
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._started = self._step_started = clock()
        self._current = -1
        self._taken = 0.0  # real seconds of the finished steps
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> StepProgress:
        if self._tty:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()
        else:
            expected = sum(step.seconds for step in self.steps)
            self._write(f"{self.title} (about {expected:.0f} s, {len(self.steps)} steps)\n")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if exc[0] is None:
            self.finish()
        elif self._tty:
            self._write("\n")

    def begin(self, index: int) -> None:
        """Step `index` started (the ones before it are done)."""
        with self._lock:
            now = self._clock()
            if self._current >= 0:
                self._taken += now - self._step_started
            self._current, self._step_started = index, now
            if not self._tty:
                step = self.steps[index]
                self._write(f"  [{index + 1}/{len(self.steps)}] {step.label} (about {step.seconds:.0f} s)\n")
        self.draw()

    def finish(self) -> None:
        """Every step is done: the last line says how long it all took."""
        elapsed = self._clock() - self._started
        end = "\r\033[K" if self._tty else ""
        self._write(f"{end}{self.title}: done in {elapsed:.0f} s\n")

    def fraction(self) -> float:
        """How much of the whole is done, 0 to 1, by expected durations."""
        total = sum(step.seconds for step in self.steps) or 1.0
        if self._current < 0:
            return 0.0
        done = sum(step.seconds for step in self.steps[: self._current])
        step = self.steps[self._current]
        within = min((self._clock() - self._step_started) / self._speed(), STEP_CEILING * step.seconds)
        return min((done + within) / total, 1.0)

    def remaining(self) -> float:
        """Seconds left, by the expected durations scaled by how fast the finished steps went."""
        if self._current < 0:
            return sum(step.seconds for step in self.steps)
        step = self.steps[self._current]
        in_step = (self._clock() - self._step_started) / self._speed()
        left = max(step.seconds - in_step, 0.0) + sum(s.seconds for s in self.steps[self._current + 1 :])
        return left * self._speed()

    def line(self) -> str:
        """The terminal line: title, bar, percentage, the step in hand and the time left."""
        fraction = self.fraction()
        filled = round(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        label = self.steps[self._current].label if self._current >= 0 else "starting"
        left = self.remaining()
        when = f"about {left:.0f} s left" if left >= 1.5 else "finishing"
        return f"{self.title} [{bar}] {fraction:4.0%}  {label}, {when}"

    def draw(self) -> None:
        if self._tty:
            with self._lock:
                self._write(f"\r\033[K{self.line()}")

    def _speed(self) -> float:
        """Real over expected seconds of the finished steps (1 until one has finished)."""
        expected = sum(step.seconds for step in self.steps[: self._current])
        return self._taken / expected if self._current > 0 and expected and self._taken else 1.0

    def _tick(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            self.draw()

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
