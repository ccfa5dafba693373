"""Regression gate on the recorded metrics (accuracy, time to target, throughput, energy, ...).

pytest-benchmark's --benchmark-compare-fail judges timing statistics only. This gate reads the same
stored run that --benchmark-compare loads and compares the SNNBench records, test by test:

    --snnbench-compare-fail=accuracy:0.5pp,time_to_target:10%,throughput:5%

A bound is ``METRIC:AMOUNT UNIT`` with UNIT ``pp`` (percentage points, accuracies only), ``%``
(relative to the stored value) or ``s`` (seconds, times only). Each metric has a bad direction:
accuracies and throughput must not fall, times and energies must not rise. The metrics, with their
units and directions, are defined in pytest_snnbench.metrics.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import pytest

from .identity import GATE_IGNORES, RunIdentity
from .metrics import REGISTRY

# The metrics, their units and directions: pytest_snnbench.metrics (one definition each).
METRICS = REGISTRY
_UNITS = "|".join(sorted({re.escape(unit) for metric in METRICS.values() for unit in metric.gate_units}, key=len,
                          reverse=True))
_BOUND = re.compile(rf"^\s*([a-z_]+)\s*:\s*([0-9]*\.?[0-9]+)\s*({_UNITS})\s*$")


@dataclass(frozen=True)
class Bound:
    metric: str
    amount: float
    unit: str

    def __str__(self) -> str:
        return f"{self.metric}:{self.amount:g}{self.unit}"


def parse_bounds(expression: str | None) -> tuple[Bound, ...]:
    """Parse the option's value; a malformed expression is a usage error that shows the syntax."""
    if not expression:
        return ()
    bounds = []
    for part in expression.split(","):
        match = _BOUND.match(part)
        if not match:
            raise pytest.UsageError(
                f"--snnbench-compare-fail: {part.strip()!r} is not METRIC:AMOUNT(pp|%|s). "
                f"Metrics: {', '.join(METRICS)}; e.g. accuracy:0.5pp,time_to_target:10%,throughput:5%.")
        metric, amount, unit = match.group(1), float(match.group(2)), match.group(3)
        if metric not in METRICS:
            raise pytest.UsageError(f"--snnbench-compare-fail: unknown metric {metric!r}; use one of "
                                    f"{', '.join(METRICS)}.")
        if unit not in METRICS[metric].gate_units:
            raise pytest.UsageError(f"--snnbench-compare-fail: {metric} takes a bound in "
                                    f"{' or '.join(METRICS[metric].gate_units)}, not {unit!r}.")
        bounds.append(Bound(metric, amount, unit))
    return tuple(bounds)


def metric_value(record: dict[str, Any], metric: str) -> float | None:
    return METRICS[metric].value(record)


@dataclass(frozen=True)
class Movement:
    test: str
    bound: Bound
    before: float | None
    now: float | None
    regressed: bool
    note: str | None = None  # says why a value is missing when that is no regression

    @property
    def change(self) -> str:
        if self.note:
            return self.note
        if self.before is None or self.now is None:
            return "target no longer reached" if self.now is None else "newly measured"
        delta = self.now - self.before
        if self.bound.unit == "pp":
            return f"{delta * 100:+.2f} pp"
        if self.bound.unit == "s":
            return f"{delta:+.2f} s"
        return f"{delta / self.before:+.1%}" if self.before else f"{delta:+g}"


def judge(bound: Bound, before: float | None, now: float | None) -> bool:
    """True if moving from ``before`` to ``now`` goes beyond the bound in the bad direction."""
    direction = METRICS[bound.metric].direction
    if before is None:
        return False  # nothing to compare with
    if now is None:
        return True  # measured before, missing now (e.g. the target was not reached)
    worse = (now - before) * direction  # positive when worse
    if bound.unit == "pp":
        return worse * 100 > bound.amount + 1e-9
    if bound.unit == "s":
        return worse > bound.amount + 1e-9
    return before != 0 and worse / abs(before) * 100 > bound.amount + 1e-9


def compare(current: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]],
            bounds: Iterable[Bound]) -> list[Movement]:
    """Every bounded metric of every test present in both runs."""
    movements = []
    for test in sorted(set(current) & set(stored)):
        for bound in bounds:
            before, now = metric_value(stored[test], bound.metric), metric_value(current[test], bound.metric)
            if before is None and now is None:
                continue
            metric = METRICS[bound.metric]
            if now is None and not metric.measurable(current[test]):
                # e.g. energy on a machine without readable counters: unknown, not worse
                movements.append(Movement(test, bound, before, now, False, "not measured now"))
                continue
            movements.append(Movement(test, bound, before, now, judge(bound, before, now)))
    return movements


def identity_differences(current: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """For each test in both runs whose run identities (pytest_snnbench.identity) differ in anything
    but the code (another commit is what a gate compares) and the machine (not part of an identity):
    the differing fields, ``field: stored -> now``."""
    found = {}
    for test in sorted(set(current) & set(stored)):
        lines = RunIdentity.of_record(stored[test]).differences(RunIdentity.of_record(current[test]),
                                                                ignore=GATE_IGNORES)
        if lines:
            found[test] = lines
    return found


def movement_table(movements: list[Movement]) -> list[str]:
    rows = [("test", "metric", "stored", "now", "change", "bound", "verdict")]
    for m in movements:
        rows.append((m.test, m.bound.metric, "-" if m.before is None else f"{m.before:.4g}",
                     "-" if m.now is None else f"{m.now:.4g}", m.change, str(m.bound),
                     "REGRESSED" if m.regressed else "ok"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
