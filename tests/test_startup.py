"""Loading the plugin costs a pytest run without --snnbench next to nothing: no torch, no SNN library.

docs/compatibility.md has the measured start-up figures; this test keeps them true.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

HEAVY = ("torch", "numpy", "torchvision", "torchaudio", "bindsnet", "snntorch", "norse", "matplotlib", "scipy",
         "soundfile")

REPORTING_CONFTEST = f"""
import sys

def pytest_sessionfinish(session):
    loaded = session.config.pluginmanager.has_plugin("snnbench")
    heavy = [name for name in {HEAVY!r} if name in sys.modules]
    print(f"\\nSNNBENCH-LOADED={{loaded}} HEAVY-MODULES={{heavy}}")
"""


@pytest.mark.parametrize("args", [[], ["--collect-only"], ["-m", "training"]], ids=["run", "collect", "marker"])
def test_pytest_without_snnbench_imports_no_torch(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makeconftest(REPORTING_CONFTEST)
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args)
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    result.stdout.fnmatch_lines(["*SNNBENCH-LOADED=True HEAVY-MODULES=[[][]]*"])


def _start_up(folder: Path, *args: str, runs: int = 3) -> float:
    """The fastest of ``runs`` runs of ``pytest --collect-only`` in ``folder`` (seconds)."""
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                       cwd=folder, capture_output=True, check=False)
        best = min(best, time.perf_counter() - began)
    return best


def test_start_up_with_the_plugin_costs_under_a_fifth_of_a_second(tmp_path: Path) -> None:
    """``pytest --collect-only`` in an empty folder, the plugin loaded against disabled (-p no:snnbench)."""
    without = _start_up(tmp_path, "-p", "no:snnbench")
    with_plugin = _start_up(tmp_path)
    print(f"start-up: {with_plugin:.3f} s with the plugin, {without:.3f} s without")
    assert with_plugin - without < 0.2
