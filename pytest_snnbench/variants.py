"""Runs of one workload under different settings: thread and device sweeps, seeds, repeats.

Each variant becomes a parametrized run of every selected workload. Seeds, repeats and intra-op
threads change freely inside one process. torch sizes the inter-op pool once per process, so when
inter-op threads (or devices, the paper's CPU-versus-GPU comparison) are swept, every variant runs in a
fresh pytest process with single values and its record is collected into this session's results.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .options import SnnbenchOptions

# Options that describe the sweep itself; a child process gets single values instead.
SWEEP_DESTS = {"intra_op_threads", "inter_op_threads", "device", "snnbench_seed", "snnbench_seeds",
               "snnbench_repeat", "snnbench_compare_fail", "snnbench_report", "snnbench",
               "snnbench_baseline"}


@dataclass(frozen=True)
class RunVariant:
    seed: int
    intra_op: int | None
    inter_op: int | None
    device: str
    repeat: int  # 1-based
    in_child: bool
    label: str  # the parametrize id: only the dimensions that vary

    def as_param(self) -> Any:
        """This variant as a parameter of the workload tests; one that runs in a child process gets
        the clock that hands the child's measurement to its benchmark fixture (ChildClock)."""
        marks = [pytest.mark.benchmark(timer=ChildClock())] if self.in_child else []
        return pytest.param(self, id=self.label, marks=marks)

    def child_arguments(self) -> list[str]:
        args = [f"--device={self.device}", f"--snnbench-seed={self.seed}"]
        if self.intra_op is not None:
            args.append(f"--intra-op-threads={self.intra_op}")
        if self.inter_op is not None:
            args.append(f"--inter-op-threads={self.inter_op}")
        return args


def is_swept(options: SnnbenchOptions) -> bool:
    return bool(options.intra_op_sweep or options.inter_op_sweep or options.device_sweep
                or len(options.seeds) > 1 or options.repeat > 1)


def single_variant(options: SnnbenchOptions) -> RunVariant:
    return RunVariant(options.seed, options.intra_op_threads, options.inter_op_threads, options.device, 1,
                      False, "")


def all_variants(options: SnnbenchOptions) -> list[RunVariant]:
    devices = options.device_sweep or (options.device,)
    inters = options.inter_op_sweep or (options.inter_op_threads,)
    intras = options.intra_op_sweep or (options.intra_op_threads,)
    seeds = options.seeds or (options.seed,)
    variants = []
    for device in devices:
        for inter in inters:
            for intra in intras:
                for seed in seeds:
                    for repeat in range(1, options.repeat + 1):
                        parts = []
                        if options.device_sweep:
                            parts.append(device)
                        if options.inter_op_sweep:
                            parts.append(f"inter{inter}")
                        if options.intra_op_sweep:
                            parts.append(f"intra{intra}")
                        if len(seeds) > 1:
                            parts.append(f"seed{seed}")
                        if options.repeat > 1:
                            parts.append(f"run{repeat}")
                        variants.append(RunVariant(seed, intra, inter, device, repeat,
                                                   options.runs_in_child_processes, "-".join(parts)))
    return variants


def forwarded_arguments(config: pytest.Config, group: Any) -> list[str]:
    """The plugin options this session was given, minus the sweep itself, for a child process."""
    args = []
    for option in group.options:
        if option.dest in SWEEP_DESTS:
            continue
        value = config.getoption(option.dest)
        flag = option.names()[-1]
        if value is None or value is False or value == option.default:
            continue
        args.append(flag if value is True else f"{flag}={value}")
    return args


@dataclass
class ChildResult:
    returncode: int
    benchmark: dict[str, Any] | None  # the child's pytest-benchmark entry, extra_info included
    output: str

    def failure_text(self) -> str:
        lines = self.output.splitlines()
        start = next((i for i, line in enumerate(lines) if "FAILURES" in line or "ERRORS" in line), None)
        end = next((i for i, line in enumerate(lines) if "short test summary" in line), len(lines))
        excerpt = lines[start:end] if start is not None else lines[-30:]
        return "\n".join(excerpt[-60:])


def run_in_child(item: pytest.Item, variant: RunVariant, forwarded: list[str],
                 clock: ChildClock | None = None) -> ChildResult:
    """Run this one workload test in a fresh pytest process with the variant's single values; its
    result comes back as the child's own pytest-benchmark JSON (and is reported to ``clock``)."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="snnbench-child-") as folder:
        report = Path(folder) / "child.json"
        command = [sys.executable, "-m", "pytest", "--snnbench", f"{item.path}::{item.originalname}",
                   *forwarded, *variant.child_arguments(), f"--benchmark-json={report}",
                   f"--snnbench-results={Path(folder) / 'child-results.jsonl'}",  # the parent writes the record
                   "-p", "no:cacheprovider", "-q", "-rN"]
        completed = subprocess.run(command, cwd=item.config.invocation_params.dir, capture_output=True,
                                   text=True, check=False)
        benchmark = None
        if report.is_file():
            entries = json.loads(report.read_text()).get("benchmarks", [])
            benchmark = entries[0] if entries else None
    if clock is not None and benchmark is not None:
        clock.report(began, float(benchmark["stats"]["mean"]))  # our workloads time one round
    return ChildResult(completed.returncode, benchmark, completed.stdout + completed.stderr)


class ChildClock:
    """The timer of a test whose run happens in a child process (pytest-benchmark's documented
    ``timer`` argument of the benchmark marker): ``time.perf_counter`` plus a correction.

    The parent times the call that runs the child with its benchmark fixture's public ``pedantic``
    API; once the child has reported its own measurement (one round, as our workloads time), the
    correction makes the timed call last exactly that long instead of the whole process's life
    (start-up, imports, data loading). pytest-benchmark then shows, saves and compares the child's
    number like any other. pytest-benchmark has no public call to hand it a measurement made
    elsewhere (ionelmc/pytest-benchmark#52); this uses only its public timer and fixture API.
    """

    def __init__(self) -> None:
        self.correction = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self.correction

    def __repr__(self) -> str:
        return "snnbench child-process clock"

    def report(self, began: float, measured: float) -> None:
        """The child measured ``measured`` seconds; the call that ran it began at ``began`` (perf_counter)."""
        self.correction += measured - (time.perf_counter() - began)


class SegmentClock(ChildClock):
    """The timer of a training test with checkpoints: ``report`` makes pytest-benchmark's timed call
    last the run's timed seconds (all segments of a resumed run, checkpoint writing left out)."""

    def __repr__(self) -> str:
        return "snnbench timed-segments clock"
