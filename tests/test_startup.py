"""Loading the plugin costs a pytest run without --snnbench next to nothing: no torch, no SNN library.

docs/compatibility.md has the measured start-up figures, from docs/measure_startup.py (a script, not
a test: tests assert behaviour, never wall-clock times).
"""
from __future__ import annotations

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
