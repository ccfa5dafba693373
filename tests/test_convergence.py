"""Where a convergence run converged, and its spread after (pytest_snnbench/convergence.py)."""
from __future__ import annotations

import statistics

import pytest
from hypothesis import given, strategies as st

from pytest_snnbench.convergence import _ROUNDING, TOLERANCE, converged_epoch, epoch_means, summary
from pytest_snnbench.curve import AccuracyCurve, CurvePoint


def curve(*epochs: list[float], target: float = 0.9) -> AccuracyCurve:
    """A curve with the given checks per epoch."""
    made, samples = AccuracyCurve(target), 0
    for epoch, accuracies in enumerate(epochs, start=1):
        for accuracy in accuracies:
            samples += 100
            made.add(CurvePoint(epoch=epoch, samples=samples, seconds=samples / 10, accuracy=accuracy, loss=None))
    return made


def test_converged_at_the_first_epoch_no_later_one_beats_by_more_than_a_point() -> None:
    # Epoch means 0.80, 0.95, 0.955, 0.96: epoch 2 is beaten by 1 point at most.
    assert converged_epoch(curve([0.8], [0.95], [0.955], [0.96]).points) == 2
    # A late jump of more than a point moves convergence there.
    assert converged_epoch(curve([0.8], [0.95], [0.955], [0.975]).points) == 4
    # Means, not single checks: STDP's noisy checks within an epoch average out.
    assert epoch_means(curve([0.7, 0.9], [0.78, 0.84]).points) == pytest.approx({1: 0.8, 2: 0.81})
    assert converged_epoch(curve([0.7, 0.9], [0.78, 0.84]).points) == 1


def test_the_spread_after_convergence_is_over_every_check_from_that_epoch() -> None:
    run = curve([0.5, 0.85], [0.93, 0.95], [0.94, 0.96])
    result = summary(run, budget_epochs=3)
    after = [0.93, 0.95, 0.94, 0.96]
    assert result["converged_epoch"] == 2 and result["checks_after"] == 4
    assert result["accuracy_mean_after"] == pytest.approx(statistics.fmean(after))
    assert result["accuracy_std_after"] == pytest.approx(statistics.stdev(after))
    assert result["first_reached"] == {"epoch": 2, "samples": 300, "seconds": 30.0}
    assert result["converged_at_end"] is False


def test_a_curve_still_climbing_at_its_end_says_so() -> None:
    result = summary(curve([0.5], [0.7], [0.9]), budget_epochs=3)
    assert result["converged_epoch"] == 3 and result["converged_at_end"] is True
    assert result["accuracy_std_after"] is None  # one check: no spread


def test_no_convergence_figures_from_a_run_that_stopped_at_its_target() -> None:
    result = summary(curve([0.5], [0.95]), budget_epochs=None)
    assert result["available"] is False and "--snnbench-budget=epochs:N" in result["reason"]


@given(st.lists(st.lists(st.floats(0, 1), min_size=1, max_size=4), min_size=1, max_size=8))
def test_no_epoch_after_convergence_beats_it_by_more_than_the_tolerance(epochs: list[list[float]]) -> None:
    points = curve(*epochs).points
    epoch = converged_epoch(points)
    means = epoch_means(points)
    assert all(means[later] - means[epoch] <= TOLERANCE + _ROUNDING for later in means if later > epoch)
    # ... and it is the first such epoch.
    assert all(any(means[later] - means[earlier] > TOLERANCE + _ROUNDING for later in means if later > earlier)
               for earlier in means if earlier < epoch)
