"""The verdict rule: one-sided Wilson bounds, inference fails only when significantly below target."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_snnbench.record import inference_record
from pytest_snnbench.training import InferenceOutcome
from pytest_snnbench.verdict import CONFIDENCE, Interval, Score, inference_passes, wilson_bounds
from tests.conftest import smoke_context
from tests.toy_workload import ToyWorkload


def test_wilson_bounds_by_hand() -> None:
    # 50 of 100 at 99 % one-sided: z = 2.3263; centre 0.5, half-width 2.3263 * 0.051336 / 1.05412
    lower, upper = wilson_bounds(50, 100)
    assert CONFIDENCE == 0.99
    assert (lower, upper) == pytest.approx((0.38671, 0.61329), abs=1e-4)
    assert wilson_bounds(0, 10)[0] == 0.0 and wilson_bounds(10, 10)[1] == 1.0
    assert wilson_bounds(10, 10)[0] == pytest.approx(1 / (1 + 2.3263 ** 2 / 10), abs=1e-4)


@given(st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_bounds_hold_the_estimate_and_narrow_with_more_samples(counts: tuple[int, int]) -> None:
    correct, total = counts
    lower, upper = wilson_bounds(correct, total)
    assert 0.0 <= lower <= correct / total + 1e-12 and correct / total - 1e-12 <= upper <= 1.0
    wider = wilson_bounds(correct, total, confidence=0.999)
    assert wider[0] <= lower + 1e-12 and upper <= wider[1] + 1e-12
    more = wilson_bounds(correct * 4, total * 4)
    assert more[1] - more[0] <= upper - lower + 1e-12


@pytest.mark.parametrize("correct, total, target, passes", [
    (838, 1000, 0.85, True),  # 83.8 %: below 85 % but not significantly (upper bound 86.3 %)
    (8380, 10000, 0.85, False),  # the same rate on ten times the samples is significantly below
    (182, 1000, 0.25, False),
    (250, 1000, 0.25, True),
    (0, 5, 0.5, True),  # five samples prove nothing
])
def test_inference_fails_only_when_significantly_below(correct: int, total: int, target: float,
                                                       passes: bool) -> None:
    assert inference_passes(Interval.of(correct, total), target) is passes


def test_a_score_is_a_float_that_knows_its_counts() -> None:
    score = Score(3, 4)
    assert score == 0.75 and score >= 0.7 and isinstance(score, float)
    assert (score.correct, score.total) == (3, 4)
    assert Interval.of_score(score).samples == 4 and Interval.of_score(0.5) is None
    assert Interval.of_score(0.5, 10).correct == 5
    assert math.isclose(float(score) * 2, 1.5)


def test_inference_records_carry_the_interval_and_the_status(tmp_path: Path) -> None:
    workload = ToyWorkload(smoke_context(tmp_path, tmp_path))
    workload.target_accuracy = 0.85
    within = inference_record(workload, InferenceOutcome(0.84, 1000, 1.0, 840), {}, "same-run")
    assert within["status"] == "within-interval" and within["verdict"]["passed"] is True
    assert within["test_interval"]["samples"] == 1000 and within["test_interval"]["upper"] > 0.85
    missed = inference_record(workload, InferenceOutcome(0.80, 1000, 1.0, 800), {}, "same-run")
    assert missed["status"] == "missed" and missed["verdict"]["passed"] is False
    assert inference_record(workload, InferenceOutcome(0.9, 1000, 1.0, 900), {}, "same-run")["status"] == "reached"
    assert within["target_source"] == "unstated"  # the toy states no source
