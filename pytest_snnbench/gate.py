"""Regression gate on the recorded metrics (accuracy, time to target, throughput, energy, ...).

pytest-benchmark's --benchmark-compare-fail judges timing statistics only. This gate reads the same
stored run that --benchmark-compare loads and compares the SNNBench records, test by test:

    --snnbench-compare-fail=accuracy:0.5pp,time_to_target:10%,throughput:5%

A bound is ``METRIC:AMOUNT UNIT`` with UNIT ``pp`` (percentage points, accuracies only), ``%``
(relative to the stored value) or ``s`` (seconds, times only); or ``METRIC:spread`` (a speed-free
metric may move by its spread measured over seeds and thread counts, pytest_snnbench.reference) or
``METRIC:exact`` (no move in the bad direction at all). Each metric has a bad direction: accuracies
and throughput must not fall, times and energies must not rise. The metrics, with their units,
directions and kinds, are defined in pytest_snnbench.metrics.

Without --snnbench-compare-fail, a comparison (--benchmark-compare or --snnbench-baseline) gates
the metrics that travel between machines (``DEFAULT_BOUNDS``): every speed-free metric within its
spread, every exact one exactly. Time metrics are compared only with a stored run of the same
machine; across runners they are the A/B command's job (``snnbench-ab``, one runner, one job).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import pytest

from .identity import GATE_IGNORES, RunIdentity
from .metrics import REGISTRY
from .text_table import aligned

# The metrics, their units and directions: pytest_snnbench.metrics (one definition each).
METRICS = REGISTRY
_UNITS = "|".join(sorted({re.escape(unit) for metric in METRICS.values() for unit in metric.gate_units}, key=len,
                          reverse=True))
_BOUND = re.compile(rf"^\s*([a-z_]+)\s*:\s*(?:([0-9]*\.?[0-9]+)\s*({_UNITS})|(spread|exact))\s*$")
MEASURED = ("spread", "exact")  # bounds without an amount


@dataclass(frozen=True)
class Bound:
    metric: str
    amount: float
    unit: str

    def __str__(self) -> str:
        return f"{self.metric}:{self.unit}" if self.unit in MEASURED else f"{self.metric}:{self.amount:g}{self.unit}"


def default_bounds() -> tuple[Bound, ...]:
    """What a comparison gates when no bounds are given: the metrics that do not depend on the
    machine's speed, speed-free ones within their measured spread, exact ones exactly."""
    return tuple(Bound(m.name, 0.0, "spread" if m.kind == "speed-free" else "exact")
                 for m in METRICS.of_kind("speed-free", "exact"))


DEFAULT_BOUNDS_TEXT = "every speed-free metric within its measured spread, every exact metric exactly"


def parse_bounds(expression: str | None) -> tuple[Bound, ...]:
    """Parse the option's value; a malformed expression is a usage error that shows the syntax."""
    if not expression:
        return ()
    bounds = []
    for part in expression.split(","):
        match = _BOUND.match(part)
        if not match:
            raise pytest.UsageError(
                f"--snnbench-compare-fail: {part.strip()!r} is not METRIC:AMOUNT(pp|%|s), METRIC:spread "
                f"or METRIC:exact. Metrics: {', '.join(METRICS)}; e.g. "
                f"accuracy:spread,footprint:exact,time_to_target:10%,throughput:5%.")
        metric = match.group(1)
        amount, unit = (0.0, match.group(4)) if match.group(4) else (float(match.group(2)), match.group(3))
        if metric not in METRICS:
            raise pytest.UsageError(f"--snnbench-compare-fail: unknown metric {metric!r}; use one of "
                                    f"{', '.join(METRICS)}.")
        kind = METRICS[metric].kind
        if unit == "spread" and kind != "speed-free":
            raise pytest.UsageError(f"--snnbench-compare-fail: {metric}:spread: only speed-free metrics have a "
                                    f"measured spread ({', '.join(m.name for m in METRICS.of_kind('speed-free'))}).")
        if unit == "exact" and kind == "time":
            raise pytest.UsageError(f"--snnbench-compare-fail: {metric}:exact: a time is never exact; give "
                                    f"a bound in {' or '.join(METRICS[metric].gate_units)}.")
        if unit not in MEASURED and unit not in METRICS[metric].gate_units:
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
    note: str | None = None  # says why a value is missing, or why it was not judged
    allowed: float | None = None  # a spread bound: how far the metric may move (its measured spread)
    skipped: bool = False  # not judged (no measured spread, a time from another machine)

    @property
    def change(self) -> str:
        if self.note:
            return self.note
        if self.before is None or self.now is None:
            return "target no longer reached" if self.now is None else "newly measured"
        delta = self.now - self.before
        if self.bound.unit in MEASURED:
            return f"{delta:+.4g}" + (f" (spread {self.allowed:.4g})" if self.allowed is not None else "")
        if self.bound.unit == "pp":
            return f"{delta * 100:+.2f} pp"
        if self.bound.unit == "s":
            return f"{delta:+.2f} s"
        return f"{delta / self.before:+.1%}" if self.before else f"{delta:+g}"


def judge(bound: Bound, before: float | None, now: float | None, allowed: float | None = None) -> bool:
    """True if moving from ``before`` to ``now`` goes beyond the bound in the bad direction
    (``allowed``: a spread bound's measured spread, in the metric's unit)."""
    direction = METRICS[bound.metric].direction
    if before is None:
        return False  # nothing to compare with
    if now is None:
        return True  # measured before, missing now (e.g. the target was not reached)
    worse = (now - before) * direction  # positive when worse
    if bound.unit == "exact":
        return worse > 0
    if bound.unit == "spread":
        return allowed is not None and worse > allowed * (1 + 1e-9) + 1e-12
    if bound.unit == "pp":
        return worse * 100 > bound.amount + 1e-9
    if bound.unit == "s":
        return worse > bound.amount + 1e-9
    return before != 0 and worse / abs(before) * 100 > bound.amount + 1e-9


def spread_of(record: dict[str, Any], metric: str) -> float | None:
    """The metric's spread (max - min) over its recipe's reference runs, as the record carries it."""
    found = ((record.get("reference_spread") or {}).get("metrics") or {}).get(metric)
    return found["max"] - found["min"] if found else None


def compare(current: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]],
            bounds: Iterable[Bound], other_machine: str | None = None) -> list[Movement]:
    """Every bounded metric of every test present in both runs. ``other_machine``: why the stored run
    is known to come from another machine; its time metrics are then skipped, not judged."""
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
            if metric.kind == "time" and other_machine:
                movements.append(Movement(test, bound, before, now, False, f"skipped: {other_machine}",
                                          skipped=True))
                continue
            allowed = None
            if bound.unit == "spread":
                allowed = spread_of(current[test], bound.metric)
                allowed = spread_of(stored[test], bound.metric) if allowed is None else allowed
                if allowed is None:
                    movements.append(Movement(test, bound, before, now, False,
                                              "skipped: no measured spread for this recipe", skipped=True))
                    continue
            movements.append(Movement(test, bound, before, now, judge(bound, before, now, allowed), allowed=allowed))
    return movements


def other_machine(stored_machine: dict[str, Any] | None, this_machine: dict[str, Any] | None) -> str | None:
    """Why a stored run's machine is not this one (pytest-benchmark's ``machine_info`` of both: the
    node or the CPU differs), or None when it is the same or unknown (a results file records none)."""
    def cpu(info: dict[str, Any]) -> str | None:
        return info["cpu"].get("brand_raw") if isinstance(info.get("cpu"), dict) else None

    if not stored_machine or not this_machine:
        return None
    for what, stored, here in (("machine", stored_machine.get("node"), this_machine.get("node")),
                               ("CPU", cpu(stored_machine), cpu(this_machine))):
        if stored and here and stored != here:
            return f"the stored run is from another {what} ({stored}); times are compared on one runner (snnbench-ab)"
    return None


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
                     "REGRESSED" if m.regressed else "skipped" if m.skipped else "ok"))
    return aligned(rows)
