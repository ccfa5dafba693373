"""Measure the harness's own cost (docs/benchmarks.md, "The harness's own cost"): the same training,
same seed, same samples, run bare (the workload's ``train_step`` in a plain loop) and under the
plugin (``pytest --snnbench``: its train-to-target loop with the loss checks, progress, checkpoint
timer and clock), alternately, each in a fresh process.

    SNNBENCH_DATA=../shared/data .venv/bin/python docs/measure_overhead.py --epochs 3 --rounds 3

Speech-LIF is measured by default: its steps are the shortest of the workloads (32 clips, tens of
milliseconds), so a per-step cost of the loop shows there first. Under the plugin, training time is
the record's ``total_seconds - evaluation_seconds`` (the bare loop has no checks); both start warm
(the plugin's warm-up: ``WARMUP_TRAIN_STEPS`` steps on a throwaway copy). A measurement, not a test:
run it with nothing else on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_snnbench.ab.stats import bootstrap_ratio

REPO = Path(__file__).resolve().parent.parent


def bare(epochs: int, threads: int) -> float:
    """Seconds of ``epochs`` epochs of Speech-LIF's train_step in a plain loop (this process)."""
    import torch

    from pytest_snnbench.determinism import seed_everything
    from pytest_snnbench.runner import WARMUP_TRAIN_STEPS
    from pytest_snnbench.workload import WorkloadContext
    from pytest_snnbench.workloads.speech.test_speech import SpeechLIF

    torch.set_num_threads(threads)
    data = Path(os.environ.get("SNNBENCH_DATA", Path.home() / ".cache/pytest-snnbench/data"))
    cache = Path(os.environ.get("SNNBENCH_CACHE", Path.home() / ".cache/pytest-snnbench"))
    context = WorkloadContext(device=torch.device("cpu"), scale="full", seed=0, data_dir=data, cache_dir=cache,
                              allow_download=False)
    seed_everything(0)
    throwaway = SpeechLIF(context, epochs=epochs)
    for _, batch in zip(range(WARMUP_TRAIN_STEPS), throwaway.train_batches(1)):
        throwaway.train_step(batch)
    seed_everything(0)
    workload = SpeechLIF(context, epochs=epochs)
    began = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for batch in workload.train_batches(epoch):
            loss = workload.train_step(batch)
    float(loss)  # the last step done
    return time.perf_counter() - began


def under_plugin(epochs: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "run.json"
        subprocess.run([sys.executable, "-m", "pytest", "--snnbench", "-m", "speech and lif and training",
                        f"--snnbench-speech-epochs={epochs}", f"--intra-op-threads={threads}", "-q",
                        "-p", "no:cacheprovider", f"--benchmark-json={report}"], cwd=REPO, check=False,
                       capture_output=True)
        record = json.loads(report.read_text())["benchmarks"][0]["extra_info"]
    return record["total_seconds"] - record["evaluation_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.bare:
        print(bare(args.epochs, args.threads))
        return
    times: dict[str, list[float]] = {"bare": [], "plugin": []}
    for _ in range(args.rounds):
        child = subprocess.run([sys.executable, __file__, "--bare", f"--epochs={args.epochs}",
                                f"--threads={args.threads}"], cwd=REPO, check=True, capture_output=True, text=True)
        times["bare"].append(float(child.stdout.strip().splitlines()[-1]))
        times["plugin"].append(under_plugin(args.epochs, args.threads))
    for label, values in times.items():
        print(f"{label:7s} " + ", ".join(f"{v:.2f}" for v in values) + f" s; median {statistics.median(values):.2f} s")
    overhead = statistics.median(times["plugin"]) / statistics.median(times["bare"]) - 1
    low, high = bootstrap_ratio(times["bare"], times["plugin"])
    fastest = min(times["plugin"]) / min(times["bare"]) - 1
    # each round's two runs follow each other: their ratio cancels slow drifts of a shared VM's speed
    paired = statistics.median(p / b for b, p in zip(times["bare"], times["plugin"])) - 1
    print(f"the harness's cost: {100 * overhead:+.1f} % of the bare loop's training time by the medians "
          f"(95 % bootstrap interval {100 * (low - 1):+.1f} to {100 * (high - 1):+.1f} %), {100 * paired:+.1f} % by the "
          f"median of the rounds' paired ratios, {100 * fastest:+.1f} % by the fastest runs "
          f"(Speech-LIF, {args.epochs} epochs, {args.threads} threads, {args.rounds} rounds)")


if __name__ == "__main__":
    main()
