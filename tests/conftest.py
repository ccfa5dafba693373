"""Shared fixtures of the plugin's own tests: tiny data in the real formats, and pytester helpers."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
# pytester's in-process runs put sys.modules back as it was after each run. The plugin no longer
# imports torch when it loads, so the workloads' stack (torch, numpy, scipy via BindsNET, ...) is
# imported here, once: C extensions such as numpy's cannot be imported a second time in one process.
import pytest_snnbench.workloads.image_stdp.diehl_cook.bindsnet_engine  # noqa: F401
import pytest_snnbench.workloads.image_stdp.diehl_cook.fast_engine  # noqa: F401
import pytest_snnbench.workloads.image_backprop.test_image_backprop  # noqa: F401
import pytest_snnbench.workloads.image_conversion.test_image_conversion  # noqa: F401
import pytest_snnbench.workloads.image_stdp.test_image_stdp  # noqa: F401
import pytest_snnbench.workloads.speech.test_speech  # noqa: F401
import torch  # noqa: F401

import tests.tiny_configs  # noqa: F401  (the smoke scale resized for the generated data)
from tests.mnist_files import write_mnist

if TYPE_CHECKING:
    from pytest_snnbench.workload import WorkloadContext

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding MNIST/raw/ with 600 training and 200 test images."""
    root = tmp_path_factory.mktemp("data")
    write_mnist(root, train=600, test=200)
    return root


def smoke_context(data_dir: Path, cache_dir: Path, **fields) -> "WorkloadContext":
    """A CPU, smoke-scale, seed-0 context for building a workload directly (no pytest session)."""
    import torch

    from pytest_snnbench.workload import WorkloadContext

    return WorkloadContext(device=torch.device("cpu"), scale="smoke", seed=0, data_dir=data_dir,
                           cache_dir=cache_dir, allow_download=False, **fields)


def snnbench_args(data_dir: Path, cache_dir: Path, *more: str, one_thread: bool = True) -> list[str]:
    """Arguments for a smoke-scale workload session on generated data (the test-only configurations
    of tests/tiny_configs.py), no stray caches."""
    threads = ["--intra-op-threads=1"] if one_thread else []
    return ["--snnbench", "--snnbench-scale=smoke", f"--snnbench-data-dir={data_dir}",
            f"--snnbench-cache-dir={cache_dir}", *threads, "-p", "no:cacheprovider", "-p", "tests.tiny_configs",
            *more]


@pytest.fixture(autouse=True)
def _children_import_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Child pytest processes find tests.tiny_configs (and the other helpers here)."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))


@pytest.fixture
def toy_session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """pytester with the toy workload tests in place; returns a function that runs a session on them."""
    from tests.toy_workload import TOY_TESTS

    pytester.makepyfile(test_toy=TOY_TESTS)
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the child pytest imports tests.toy_workload

    def run(*args: str) -> pytest.RunResult:
        # Thread options are the tests' own business here (sweeps, searches).
        return pytester.runpytest_subprocess(*snnbench_args(tmp_path, tmp_path / "cache", "test_toy.py", *args,
                                                            one_thread=False))

    return run


def read_records(path: Path) -> dict[str, dict]:
    """extra_info per test name from a --benchmark-json file."""
    data = json.loads(path.read_text())
    return {bench["name"]: bench["extra_info"] for bench in data["benchmarks"]}
