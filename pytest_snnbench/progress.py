"""Live progress of a running workload, through pytest's terminal reporter (never captured).

One line per evaluation (the accuracy against the target, throughput, and the time left to the end
of the sample budget), and between evaluations at most one line per ``interval`` seconds on long
stretches. Under ``-q`` only the evaluation lines are shown. The training loop reads a monotonic
clock once per step and calls in here only when a line is due, so progress costs nothing
measurable inside the timed run.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, ContextManager


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class Progress:
    """Progress lines of one workload run; ``terminal`` None (no terminal reporter) makes it silent."""

    def __init__(self, terminal: Any, label: str, target: float | None = None, budget: int | None = None,
                 interval: float = 30.0, quiet: bool = False,
                 uncaptured: Callable[[], ContextManager[Any]] | None = None) -> None:
        self.terminal = terminal
        self.uncaptured = uncaptured or contextlib.nullcontext  # pytest's capture is lifted for each line
        self.label = label
        self.target = target
        self.budget = budget  # samples until the end of the budget (None: unknown)
        self.interval = interval
        self.quiet = quiet
        self.started = time.perf_counter()
        self.next_due = self.started + interval if interval > 0 and not quiet else float("inf")

    def _write(self, text: str) -> None:
        if self.terminal is None:
            return
        with self.uncaptured():
            self.terminal.ensure_newline()
            self.terminal.write_line(f"[snnbench] {self.label}: {text}")

    def _rate_and_eta(self, samples: int, total: int | None) -> str:
        elapsed = time.perf_counter() - self.started
        rate = samples / elapsed if elapsed > 0 else 0.0
        text = f"{rate:,.1f} samples/s"
        if total and rate > 0 and samples < total:
            text += f", ETA {_duration((total - samples) / rate)} to the end of the budget ({total:,} samples)"
        return text

    def _rearm(self) -> None:
        if self.next_due != float("inf"):
            self.next_due = time.perf_counter() + self.interval

    def note(self, text: str) -> None:
        """A line of its own (e.g. that the run resumes from a checkpoint)."""
        self._write(text)

    def step(self, epoch: int, samples: int) -> None:
        """A line between evaluations (the caller checks ``next_due`` first)."""
        self._write(f"epoch {epoch}, {samples:,} samples, {_duration(time.perf_counter() - self.started)}, "
                    + self._rate_and_eta(samples, self.budget))
        self._rearm()

    def evaluation(self, epoch: int, samples: int, accuracy: float, split: str = "validation") -> None:
        target = f" (target {self.target:.2%})" if self.target is not None else ""
        reached = " reached" if self.target is not None and accuracy >= self.target else ""
        self._write(f"epoch {epoch}, {samples:,} samples, {_duration(time.perf_counter() - self.started)}, "
                    f"{split} accuracy {accuracy:.2%}{target}{reached}, " + self._rate_and_eta(samples, self.budget))
        self._rearm()

    def pass_progress(self, samples: int, total: int) -> None:
        """A line during a long inference pass."""
        self._write(f"{samples:,} of {total:,} samples, {_duration(time.perf_counter() - self.started)}, "
                    + self._rate_and_eta(samples, total))
        self._rearm()

    def finished_pass(self, samples: int, accuracy: float) -> None:
        target = f" (target {self.target:.2%})" if self.target is not None else ""
        self._write(f"{samples:,} samples, {_duration(time.perf_counter() - self.started)}, "
                    f"accuracy {accuracy:.2%}{target}, " + self._rate_and_eta(samples, None))
