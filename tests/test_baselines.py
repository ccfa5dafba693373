"""A target must clearly beat the majority class and the network with learning off, or it measures nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_snnbench.baselines import MARGIN, Baselines, class_counts, majority_class_accuracy
from tests.conftest import read_records, snnbench_args


def test_class_counts_and_the_majority_class() -> None:
    counts = class_counts({"train": torch.tensor([0, 0, 1]), "validation": torch.tensor([2, 2, 2, 0]),
                           "test": torch.tensor([], dtype=torch.long)})
    assert counts == {"train": [2, 1, 0], "validation": [1, 0, 3]}  # the same classes everywhere; empty left out
    assert majority_class_accuracy(counts["validation"]) == 0.75
    assert majority_class_accuracy([0, 0]) is None


@pytest.mark.parametrize(("majority", "learning_off", "target", "fine"), [
    (0.11, 0.10, 0.95, True),
    (0.11, 0.31, 0.41, True),  # exactly 10 points above the better baseline
    (0.11, 0.31, 0.40, False),
    (0.63, 0.20, 0.70, False),  # the paper's speech targets on a data set that is two thirds one class
    (None, None, 0.10, True),
])
def test_the_margin_rule(majority, learning_off, target, fine) -> None:
    problem = Baselines(majority, learning_off, 0.0).margin_problem(target, "w", "validation")
    assert (problem is None) == fine
    if not fine:
        assert "does not measure learning" in problem and f"{MARGIN:.0%}" in problem


TOO_LOW = """
import pytest
from tests.toy_workload import ToyWorkload

class Lenient(ToyWorkload):
    name = "toy-lenient"
    target_accuracy = 0.3  # four balanced classes: the majority class alone scores 25 %

@pytest.mark.training
def test_lenient(snnbench, benchmark):
    snnbench.train(Lenient, benchmark)

@pytest.mark.training
def test_fine(snnbench, benchmark):
    snnbench.train(ToyWorkload, benchmark)
"""


def test_a_target_too_close_to_the_baselines_fails_before_training(pytester: pytest.Pytester,
                                                                   tmp_path: Path) -> None:
    pytester.makepyfile(test_toy=TOO_LOW)
    result = pytester.runpytest_subprocess(*snnbench_args(tmp_path, tmp_path / "cache", "test_toy.py",
                                                          "--benchmark-json=out.json"))
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*toy-lenient: its target of 30.00% does not measure learning. On the validation "
                                 "split the majority class scores 25.00% and the same network with learning off*"])
    records = read_records(pytester.path / "out.json")
    assert set(records) == {"test_fine"}  # the lenient one never trained
    fine = records["test_fine"]
    assert fine["majority_class_accuracy"] == 0.25 and 0 <= fine["learning_off_accuracy"] < 0.8
