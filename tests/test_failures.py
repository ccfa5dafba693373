"""A diverging run stops at once with a clear failure and keeps its record; a missed target fails."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import read_records, snnbench_args

WORKLOAD_TEST = """
import pytest
from tests.toy_workload import ToyWorkload

class Diverging(ToyWorkload):
    name = "toy-diverging"
    target_accuracy = 1.01
    diverge_at_step = 9

class Unreachable(ToyWorkload):
    name = "toy-unreachable"
    target_accuracy = 1.01
    max_epochs = 1

@pytest.mark.training
def test_diverging(snnbench, benchmark):
    snnbench.train(Diverging, benchmark)

@pytest.mark.training
def test_unreachable(snnbench, benchmark):
    snnbench.train(Unreachable, benchmark)

@pytest.mark.inference
def test_unreachable_inference(snnbench, benchmark):
    snnbench.infer(Unreachable, benchmark)
"""


def test_nan_loss_and_missed_target_fail_clearly_and_keep_the_records(
        pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_toy=WORKLOAD_TEST)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    result = pytester.runpytest_subprocess(*snnbench_args(tmp_path, tmp_path / "cache", "test_toy.py",
                                                          "--benchmark-json=out.json"))
    result.assert_outcomes(failed=3)
    output = result.stdout.str()
    assert "toy-diverging training diverged: loss became nan within steps 9-12" in output
    assert "toy-unreachable missed its target of 101.00% validation accuracy within 1 epoch(s)" in output
    assert "Traceback" not in output
    records = read_records(pytester.path / "out.json")
    diverged, missed = records["test_diverging"], records["test_unreachable"]
    assert diverged["status"] == "diverged" and diverged["steps"] == 12  # read at the next check
    assert [p["samples"] for p in diverged["curve"]] == [64, 128]  # evaluations before step 9 are kept
    assert missed["status"] == "missed" and missed["target_reached"] is False and missed["time_to_target_s"] is None
    # The model that missed is still handed to inference, which is timed and then fails on accuracy.
    inference = records["test_unreachable_inference"]
    assert inference["model_source"] == "same-run" and inference["model_reached_target"] is False
    assert inference["inference_seconds"] > 0 and inference["status"] == "missed"
    assert "significantly below its target of 101.00%" in output
    assert "Its model had not reached the target in training either. The timing is recorded." in output
