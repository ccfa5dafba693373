"""How the speech workloads' hyper-parameters were chosen: on the validation split only.

Trains Speech-LIF at full scale on the default (``snnbench``) task, once with the workload's
configuration and once per alternative below, each for ``--epochs`` epochs (the cosine schedule
over that budget), and prints the validation accuracy curve. The test split is never evaluated.

    SNNBENCH_DATA=../shared/data .venv/bin/python docs/tuning/speech_validation_sweep.py --epochs 20

The figures it printed are quoted in workloads/speech/config.py's docstring.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from pytest_snnbench.determinism import seed_everything
from pytest_snnbench.training import train_to_target
from pytest_snnbench.workload import WorkloadContext
from pytest_snnbench.workloads.speech import test_speech as speech

ALTERNATIVES = {
    "chosen": {},
    "learning_rate=2e-3": {"learning_rate": 2e-3},
    "learning_rate=5e-3": {"learning_rate": 5e-3},
    "learning_rate=2e-2": {"learning_rate": 2e-2},
    "tau_mem=40ms": {"tau_mem": 4e-2},
    "decode=max": {"decode": "max"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--task", default="snnbench")
    parser.add_argument("--only", nargs="*", default=None, help="names of ALTERNATIVES to run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    data = Path(os.environ.get("SNNBENCH_DATA", "~/.cache/pytest-snnbench/data")).expanduser()
    full = speech.CONFIGS["full"]
    for name, change in ALTERNATIVES.items():
        if args.only and name not in args.only:
            continue
        speech.CONFIGS["full"] = replace(full, **change, max_epochs=args.epochs, target_accuracy=1.0)
        context = WorkloadContext(device=torch.device("cpu"), scale="full", seed=0, data_dir=data,
                                  cache_dir=Path("~/.cache/pytest-snnbench").expanduser(), allow_download=False)
        seed_everything(0)
        workload = speech.SpeechLIF(context, task=args.task)
        begin = time.perf_counter()
        outcome = train_to_target(workload, torch.device("cpu"))
        curve = outcome.curve.accuracies()
        print(f"{name:22s} best {max(curve):.2%} last {curve[-1]:.2%} mean of last 5 {sum(curve[-5:]) / 5:.2%} "
              f"({time.perf_counter() - begin:.0f} s) validation: {' '.join(f'{a:.3f}' for a in curve)}",
              flush=True)
    speech.CONFIGS["full"] = full


if __name__ == "__main__":
    main()
