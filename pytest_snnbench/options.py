"""Command-line options of the plugin, parsed once and validated at start-up.

Workload-specific options are declared by the workloads themselves (see hooks.py). Every check
here raises ``pytest.UsageError`` so that a wrong option stops the
session before any workload runs, with a message that says how to fix it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

SCALES = ("smoke", "full")
DEFAULT_SEED = 0
_DEVICE_PATTERN = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-snnbench"


@dataclass(frozen=True)
class SnnbenchOptions:
    """What the user asked for, after validation."""

    enabled: bool
    device: str
    seed: int
    scale: str
    data_dir: Path
    cache_dir: Path
    allow_download: bool
    profile: bool
    profile_warmup_steps: int
    profile_steps: int
    intra_op_threads: int | None  # the value for this process; None when unset or swept
    inter_op_threads: int | None
    # Sweeps and repeats (each value becomes a parametrized run of every selected workload).
    intra_op_sweep: tuple[int, ...] = ()
    inter_op_sweep: tuple[int, ...] = ()
    device_sweep: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    repeat: int = 1
    compare_fail: tuple = ()  # gate.Bound items
    default_gate: bool = False  # compare_fail is gate.default_bounds(): no --snnbench-compare-fail given
    report_dir: Path | None = None
    progress_every: float = 30.0  # seconds between progress lines on long stretches (0: evaluations only)
    results_path: Path | None = None  # every finished workload's record, appended at once (results.py)
    thread_search: tuple[int, ...] = ()  # intra-op counts to try before each training run
    checkpoint_every: float = 0.0  # seconds of training between checkpoints (0: off); checkpoint.py
    fresh: bool = False  # ignore (and replace) a training run's checkpoint instead of resuming it
    baseline: Path | None = None  # a results file or benchmark JSON for the metric gate
    compare_any_identity: bool = False  # the gate compares records of different run identities too
    # Data-parallel runs (distributed.py): ranks on this machine to launch, backend, collective
    # timeout, and whether the global batch stays the paper's (split) or grows with the ranks.
    nproc: int = 1
    dist_backend: str = "auto"
    dist_timeout: float = 300.0
    global_batch: str = "fixed"
    inference_passes: int = 1  # timed passes over the test set; the record's time is the fastest
    epoch_budget: int | None = None  # --snnbench-budget=epochs:N, train all N (convergence); None: stop at the target

    @property
    def runs_in_child_processes(self) -> bool:
        """torch fixes the inter-op pool once per process: sweeping it (or the device) needs fresh processes."""
        return len(self.inter_op_sweep) > 1 or len(self.device_sweep) > 1


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("snnbench", "SNNBench workloads (pytest-snnbench)")
    group.addoption("--snnbench", action="store_true", default=False,
                    help="Collect and run the bundled SNNBench workloads.")
    group.addoption("--device", default="cpu", metavar="DEVICE",
                    help="Device for the workloads: cpu, cuda or cuda:N (default: cpu).")
    group.addoption("--snnbench-seed", default=str(DEFAULT_SEED), metavar="N",
                    help="Seed for Python, NumPy and torch (default: 0).")
    group.addoption("--snnbench-scale", default="full", metavar="SCALE",
                    help="smoke (seconds, a few hundred samples) or full (the paper's workload; default).")
    group.addoption("--snnbench-data-dir", default=None, metavar="PATH",
                    help="Root folder of the data sets (also $SNNBENCH_DATA; default: ~/.cache/pytest-snnbench/data).")
    group.addoption("--snnbench-cache-dir", default=None, metavar="PATH",
                    help="Folder for trained models and feature caches "
                         "(also $SNNBENCH_CACHE; default: ~/.cache/pytest-snnbench).")
    group.addoption("--snnbench-no-download", action="store_true", default=False,
                    help="Never download a data set; a missing one is an error.")
    group.addoption("--snnbench-profile", action="store_true", default=False,
                    help="Profile a window of steps per workload (outside the timed run) and "
                         "record the operator categories.")
    group.addoption("--snnbench-profile-steps", default="5", metavar="N",
                    help="Number of profiled steps after the warm-up (default: 5).")
    group.addoption("--snnbench-profile-warmup", default="2", metavar="N",
                    help="Number of warm-up steps before the profiled window (default: 2, as in the paper).")
    group.addoption("--intra-op-threads", default=None, metavar="N[,N...]",
                    help="Threads of torch's intra-op pool (torch.set_num_threads); a list such as 1,2,4 "
                         "runs each workload once per value.")
    group.addoption("--inter-op-threads", default=None, metavar="N[,N...]",
                    help="Threads of torch's inter-op pool (torch.set_num_interop_threads); a list runs "
                         "each value in a fresh process.")
    group.addoption("--snnbench-seeds", default=None, metavar="N,N,...",
                    help="Run each workload once per seed and report the spread and the MLPerf-style "
                         "aggregate of time to target (instead of --snnbench-seed).")
    group.addoption("--snnbench-repeat", default="1", metavar="N",
                    help="Run each workload N times; with one seed, check that the accuracy curves are identical.")
    group.addoption("--snnbench-inference-passes", default="1", metavar="N",
                    help="Time each inference N times in the same process (after the warm-up) and record the "
                         "fastest pass as its time (all passes are kept): less noise on a shared runner "
                         "(snnbench-ab uses it). Accuracy and the verdict come from the first pass. Default 1.")
    group.addoption("--snnbench-budget", default="target", metavar="target|epochs:N",
                    help="target (default): train until the validation accuracy reaches the target (time to "
                         "target). epochs:N: train all N epochs without stopping at the target (the paper's "
                         "convergence runs: 10 epochs of MNIST), checking the whole validation split each "
                         "time; the record keeps the whole curve, time to target from the same run, the epoch "
                         "of convergence and the accuracy's mean and spread after it.")
    group.addoption("--snnbench-compare-fail", default=None, metavar="EXPR",
                    help="Fail the session if a recorded metric moved beyond its bound against the run that "
                         "--benchmark-compare (or --snnbench-baseline) loads, e.g. accuracy:spread,footprint:exact,"
                         "throughput:5%%. Default with a comparison: every speed-free metric within its spread "
                         "measured over seeds and threads, every exact one exactly; times are compared only "
                         "with a run of the same machine (snnbench-ab compares two commits on one runner).")
    group.addoption("--snnbench-thread-search", default=None, metavar="N,N,...",
                    help="Before each training run, time a few steps at each of these intra-op thread counts "
                         "and train with the fastest (recorded with the result).")
    group.addoption("--snnbench-progress-every", default="30", metavar="SECONDS",
                    help="Live progress: a line per evaluation, and between evaluations at most one line per "
                         "SECONDS (default 30; 0: evaluation lines only). -q shows evaluation lines only.")
    group.addoption("--snnbench-results", default=None, metavar="PATH",
                    help="JSON Lines file that each finished workload's record is added to at once, so that a "
                         "killed session keeps what it finished (default: results.jsonl in the cache folder).")
    group.addoption("--snnbench-checkpoint-every", default=None, metavar="SECONDS",
                    help="Write a checkpoint of each training run every SECONDS of training (default: 600 at "
                         "full scale, 0 = off at smoke scale), and on the first Ctrl-C; rerunning the same "
                         "command resumes from it.")
    group.addoption("--snnbench-fresh", action="store_true", default=False,
                    help="Train from the start even where a checkpoint exists (it is discarded and replaced).")
    group.addoption("--snnbench-compare-any-identity", action="store_true", default=False,
                    help="Let --snnbench-compare-fail compare records whose run identities differ (engine, "
                         "threads, task, versions, ...; the differences are listed). By default such a "
                         "comparison is refused, naming the fields.")
    group.addoption("--snnbench-baseline", default=None, metavar="PATH",
                    help="The run --snnbench-compare-fail compares with: a results file (.jsonl, its latest "
                         "session) or a pytest-benchmark JSON; instead of --benchmark-compare.")
    group.addoption("--snnbench-report", default=None, metavar="DIR",
                    help="At the end of the session, write PNG figures and report.html to DIR.")
    group.addoption("--snnbench-nproc", default="1", metavar="N",
                    help="Run data-parallel on N processes of this machine: the same command under "
                         "torchrun --standalone --nproc-per-node=N (default 1). Across machines, start "
                         "pytest with torchrun yourself.")
    group.addoption("--snnbench-dist-backend", default="auto", metavar="NAME",
                    help="torch.distributed backend under torchrun: auto (nccl with --device=cuda, gloo on "
                         "the CPU), gloo or nccl.")
    group.addoption("--snnbench-dist-timeout", default="300", metavar="SECONDS",
                    help="How long a rank waits in a collective for the others before the session ends with "
                         "an error (default 300).")
    group.addoption("--snnbench-global-batch", default="fixed", metavar="RULE",
                    help="Under several ranks: fixed (default) splits the paper's batch across them, so the "
                         "optimisation is the single-process one; scale gives each rank the paper's batch "
                         "(global batch x ranks) and scales the learning rate by sqrt(ranks).")

def _seconds_option(config: pytest.Config, name: str) -> float:
    raw = config.getoption(name)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if value < 0:
        flag = "--" + name.replace("_", "-")
        raise pytest.UsageError(f"{flag}={raw!r}: give a number of seconds, 0 or more, e.g. {flag}=30.")
    return value


def _int_option(config: pytest.Config, name: str, minimum: int) -> int | None:
    raw = config.getoption(name)
    if raw is None:
        return None
    flag = "--" + name.replace("_", "-")
    try:
        value = int(str(raw))
    except ValueError:
        raise pytest.UsageError(f"{flag}={raw!r} is not a whole number; give e.g. {flag}={max(minimum, 1)}.")
    if value < minimum:
        raise pytest.UsageError(f"{flag}={value} must be at least {minimum}.")
    return value


def _list_option(config: pytest.Config, name: str, minimum: int) -> tuple[int, ...]:
    """A comma-separated list of whole numbers (a single number is a list of one)."""
    raw = config.getoption(name)
    if raw is None:
        return ()
    flag = "--" + name.replace("_", "-")
    try:
        values = tuple(int(part) for part in str(raw).split(","))
    except ValueError:
        raise pytest.UsageError(f"{flag}={raw!r} is not a whole number or a comma-separated list of them; "
                                f"give e.g. {flag}=1 or {flag}=1,2,4.") from None
    for value in values:
        if value < minimum:
            raise pytest.UsageError(f"{flag}={raw}: every value must be at least {minimum}.")
    if len(set(values)) != len(values):
        raise pytest.UsageError(f"{flag}={raw} repeats a value.")
    return values


def parse_budget(text: str) -> int | None:
    """--snnbench-budget: ``target`` -> None (stop at the target), ``epochs:N`` -> N."""
    value = str(text).strip().lower()
    if value == "target":
        return None
    kind, _, count = value.partition(":")
    if kind == "epochs" and count.isdigit() and int(count) >= 1:
        return int(count)
    raise pytest.UsageError(f"--snnbench-budget={text!r} is unknown; use target (stop at the target, the "
                            "default) or epochs:N with N a whole number from 1, e.g. epochs:10 (the paper's budget).")


def parse_device(text: str) -> str:
    """Normalise a --device value; raise UsageError for anything we cannot run on."""
    match = _DEVICE_PATTERN.match(text.strip().lower())
    if not match:
        raise pytest.UsageError(f"--device={text!r} is not a device: use cpu, cuda or cuda:N.")
    kind, index = match.groups()
    if kind == "cpu":
        if index is not None:
            raise pytest.UsageError(f"--device={text!r}: the CPU takes no index; use --device=cpu.")
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        raise pytest.UsageError(
            f"--device={text} was asked for, but torch {torch.__version__} sees no CUDA device on this "
            "machine (no GPU, no driver, or a CPU-only torch build). Run with --device=cpu, or on a machine with CUDA."
        )
    count = torch.cuda.device_count()
    if index is not None and int(index) >= count:
        raise pytest.UsageError(
            f"--device={text}: this machine has {count} CUDA device(s), numbered 0 to {count - 1}."
        )
    return f"cuda:{index or 0}"


DIST_BACKENDS = ("auto", "gloo", "nccl")  # distributed.py's, without importing torch here
GLOBAL_BATCH_RULES = ("fixed", "scale")


def parse_distributed_options(config: pytest.Config) -> dict[str, object]:
    """--snnbench-nproc, -dist-backend, -dist-timeout and -global-batch, validated."""
    backend = str(config.getoption("snnbench_dist_backend")).lower()
    if backend not in DIST_BACKENDS:
        raise pytest.UsageError(f"--snnbench-dist-backend={backend!r} is unknown; use one of: "
                                f"{', '.join(DIST_BACKENDS)}.")
    rule = str(config.getoption("snnbench_global_batch")).lower()
    if rule not in GLOBAL_BATCH_RULES:
        raise pytest.UsageError(f"--snnbench-global-batch={rule!r} is unknown; use fixed (the paper's batch, "
                                "split across the ranks) or scale (the paper's batch on every rank).")
    timeout = _seconds_option(config, "snnbench_dist_timeout")
    if timeout <= 0:
        raise pytest.UsageError("--snnbench-dist-timeout must be more than 0 seconds, e.g. 300.")
    return {"nproc": _int_option(config, "snnbench_nproc", 1) or 1, "dist_backend": backend,
            "dist_timeout": timeout, "global_batch": rule}


def cache_dir_path(option: str | None) -> Path:
    """The cache folder: --snnbench-cache-dir's value, else $SNNBENCH_CACHE, else the default."""
    cache_dir = option or os.environ.get("SNNBENCH_CACHE")
    return Path(cache_dir).expanduser() if cache_dir else default_cache_dir()


def parse_options(config: pytest.Config) -> SnnbenchOptions:
    enabled = bool(config.getoption("snnbench"))
    scale = str(config.getoption("snnbench_scale")).lower()
    if scale not in SCALES:
        raise pytest.UsageError(f"--snnbench-scale={scale!r} is unknown; use one of: {', '.join(SCALES)}.")
    data_dir = config.getoption("snnbench_data_dir") or os.environ.get("SNNBENCH_DATA")
    cache_path = cache_dir_path(config.getoption("snnbench_cache_dir"))
    seed = _int_option(config, "snnbench_seed", 0)
    seeds = _list_option(config, "snnbench_seeds", 0)
    if seeds and str(config.getoption("snnbench_seed")) != str(DEFAULT_SEED):
        raise pytest.UsageError("--snnbench-seed and --snnbench-seeds exclude each other: give one of them.")
    repeat = _int_option(config, "snnbench_repeat", 1) or 1
    intra_sweep = _list_option(config, "intra_op_threads", 1)
    inter_sweep = _list_option(config, "inter_op_threads", 1)
    # Only resolve CUDA when workloads will run: `pytest` alone must not need torch at start-up.
    device_texts = [part.strip() for part in str(config.getoption("device")).split(",")]
    if enabled or device_texts != ["cpu"]:
        devices = tuple(parse_device(text) for text in device_texts)
    else:
        devices = ("cpu",)
    if len(set(devices)) != len(devices):
        raise pytest.UsageError(f"--device={config.getoption('device')} repeats a device.")
    from .gate import default_bounds, parse_bounds

    compare_fail = parse_bounds(config.getoption("snnbench_compare_fail"))
    baseline = config.getoption("snnbench_baseline")
    baseline_path = Path(baseline).expanduser().resolve() if baseline else None
    if baseline_path is not None and not baseline_path.is_file():
        raise pytest.UsageError(f"--snnbench-baseline={baseline}: no such file; give a results file (.jsonl) "
                                "or a JSON written by --benchmark-json / --benchmark-autosave.")
    comparing = baseline_path is not None or bool(config.getoption("benchmark_compare", None))
    default_gate = comparing and not compare_fail
    if default_gate:  # a comparison gates the metrics that travel between machines, unless told otherwise
        compare_fail = default_bounds()
    if compare_fail and baseline_path is None and not config.getoption("benchmark_compare", None):
        raise pytest.UsageError("--snnbench-compare-fail needs a stored run to compare with: add "
                                "--benchmark-compare (the latest saved run), --benchmark-compare=NUM, or "
                                "--snnbench-baseline=PATH (a results file or benchmark JSON).")
    checkpoint_every = (_seconds_option(config, "snnbench_checkpoint_every")
                        if config.getoption("snnbench_checkpoint_every") is not None
                        else 600.0 if scale == "full" else 0.0)
    report = config.getoption("snnbench_report")
    thread_search = _list_option(config, "snnbench_thread_search", 1)
    if thread_search and intra_sweep:
        raise pytest.UsageError("--snnbench-thread-search picks the intra-op thread count itself: "
                                "drop --intra-op-threads, or drop the search.")
    distributed = parse_distributed_options(config)
    return SnnbenchOptions(
        enabled=enabled,
        device=devices[0],
        seed=seeds[0] if seeds else (DEFAULT_SEED if seed is None else seed),
        scale=scale,
        data_dir=Path(data_dir).expanduser().resolve() if data_dir else cache_path / "data",
        cache_dir=cache_path,
        allow_download=not config.getoption("snnbench_no_download"),
        profile=bool(config.getoption("snnbench_profile")),
        profile_warmup_steps=_int_option(config, "snnbench_profile_warmup", 0) or 0,
        profile_steps=_int_option(config, "snnbench_profile_steps", 1) or 1,
        intra_op_threads=intra_sweep[0] if len(intra_sweep) == 1 else None,
        inter_op_threads=inter_sweep[0] if len(inter_sweep) == 1 else None,
        intra_op_sweep=intra_sweep if len(intra_sweep) > 1 else (),
        inter_op_sweep=inter_sweep if len(inter_sweep) > 1 else (),
        device_sweep=devices if len(devices) > 1 else (),
        seeds=seeds,
        repeat=repeat,
        compare_fail=compare_fail,
        default_gate=default_gate,
        report_dir=Path(report).expanduser().resolve() if report else None,
        progress_every=_seconds_option(config, "snnbench_progress_every"),
        results_path=Path(config.getoption("snnbench_results") or cache_path / "results.jsonl").expanduser(),
        thread_search=thread_search,
        checkpoint_every=checkpoint_every,
        fresh=bool(config.getoption("snnbench_fresh")),
        baseline=baseline_path,
        compare_any_identity=bool(config.getoption("snnbench_compare_any_identity")),
        inference_passes=_int_option(config, "snnbench_inference_passes", 1) or 1,
        epoch_budget=parse_budget(config.getoption("snnbench_budget")),
        **distributed,
    )

