"""Measure what loading the plugin adds to a pytest run without --snnbench (docs/compatibility.md).

``pytest --collect-only -q`` in an empty folder, with the plugin loaded against ``-p no:snnbench``,
fastest and median of ``--runs`` runs each. Run it from the environment to measure:

    .venv/bin/python docs/measure_startup.py --runs 10

A measurement, not a test: wall-clock times depend on the machine and its load, so no test asserts
them (tests/test_startup.py checks the behaviour behind the figure: no torch at load).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start_up_times(folder: Path, *args: str, runs: int) -> list[float]:
    """Seconds of each of ``runs`` runs of ``pytest --collect-only`` in ``folder``."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                       cwd=folder, capture_output=True, check=False)
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as empty:
        without = start_up_times(Path(empty), "-p", "no:snnbench", runs=runs)
        with_plugin = start_up_times(Path(empty), runs=runs)
    for label, times in (("with the plugin", with_plugin), ("without", without)):
        print(f"{label:16s} fastest {min(times):.3f} s, median {statistics.median(times):.3f} s ({runs} runs)")
    print(f"the plugin's cost: {min(with_plugin) - min(without):+.3f} s (fastest against fastest)")


if __name__ == "__main__":
    main()
