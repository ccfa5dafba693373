"""The third-party workload of docs/example_workload: its own option and marker through the hook."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "example_workload"


@pytest.fixture
def example(pytester: pytest.Pytester) -> pytest.Pytester:
    for name in ("conftest.py", "test_blobs.py"):
        (pytester.path / name).write_text((EXAMPLE / name).read_text())
    return pytester


def test_example_workload_runs_with_its_own_option(example: pytest.Pytester, tmp_path: Path) -> None:
    result = example.runpytest_subprocess(
        "--snnbench", "test_blobs.py", "--blobs-hidden=16", "--strict-markers", "-m", "blobs",
        f"--snnbench-cache-dir={tmp_path}", "--intra-op-threads=1", "-p", "no:cacheprovider",
        "--benchmark-json=out.json")
    result.assert_outcomes(passed=2)
    records = {b["name"]: b["extra_info"] for b in json.loads((example.path / "out.json").read_text())["benchmarks"]}
    assert records["test_blobs_training"]["hyperparameters"]["hidden"] == 16
    assert records["test_blobs_inference"]["model_source"] == "same-run"
    result.stdout.fnmatch_lines(["*blobs-training*reached*"])


def test_example_option_is_validated_at_start_up(example: pytest.Pytester) -> None:
    result = example.runpytest_subprocess("--snnbench", "test_blobs.py", "--blobs-hidden=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--blobs-hidden='0': must be at least 1*"])


def test_example_option_is_listed_in_help(example: pytest.Pytester) -> None:
    result = example.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--blobs-hidden=N*Hidden width of the blobs example workload*"])
