"""Where a convergence run's curve (``--snnbench-budget=epochs:N``) converged, and how steady it was after.

The paper trains every image workload for 10 epochs "to ensure that all of them reached a
convergent state", reads the epochs to convergence off its curves, and reports the standard
deviation of the accuracy after convergence (above 2.4 % for STDP, below 0.3 % for the others). It
gives no rule; ours, in the paper's words "no further improvement":

- each epoch's accuracy is the mean of its checks on the validation split (STDP checks many times
  an epoch, the others a few);
- the run has converged at the first epoch E that no later epoch beats by more than
  ``tolerance`` (1 point): every later epoch's mean is at most E's + 1 point;
- after convergence: every check from epoch E to the end; their mean and sample standard deviation.

The rule reads validation checks only (the split the run decides on); the test split is not used.
A run whose last epoch still improves by more than the tolerance has converged at its last epoch
by this rule: ``converged_at_end`` says so, a sign the budget was too short.
"""
from __future__ import annotations

import statistics
from typing import Any, Sequence

from .curve import AccuracyCurve, CurvePoint

TOLERANCE = 0.01  # 1 percentage point
_ROUNDING = 1e-12  # 0.96 - 0.95 is 0.0100000000000001 in floats: exactly a point is within it


def epoch_means(points: Sequence[CurvePoint]) -> dict[int, float]:
    """Each epoch's mean accuracy over its checks, in epoch order."""
    by_epoch: dict[int, list[float]] = {}
    for point in points:
        by_epoch.setdefault(point.epoch, []).append(point.accuracy)
    return {epoch: statistics.fmean(values) for epoch, values in sorted(by_epoch.items())}


def converged_epoch(points: Sequence[CurvePoint], tolerance: float = TOLERANCE) -> int | None:
    """The first epoch that no later epoch beats by more than ``tolerance``; None without checks."""
    means = epoch_means(points)
    epochs = list(means)
    for index, epoch in enumerate(epochs):
        if all(means[later] - means[epoch] <= tolerance + _ROUNDING for later in epochs[index + 1:]):
            return epoch
    return None


def summary(curve: AccuracyCurve, budget_epochs: int | None, tolerance: float = TOLERANCE) -> dict[str, Any]:
    """The record's ``convergence``: None-valued with the reason unless the run trained a whole budget."""
    if budget_epochs is None:
        return {"available": False, "reason": "a time-to-target run stops at the target; "
                                              "--snnbench-budget=epochs:N trains a whole budget"}
    epoch = converged_epoch(curve.points, tolerance)
    if epoch is None:
        return {"available": False, "reason": "no check ran", "budget_epochs": budget_epochs}
    after = [p.accuracy for p in curve.points if p.epoch >= epoch]
    hit = curve.first_reaching
    last_epoch = curve.points[-1].epoch
    return {
        "available": True,
        "budget_epochs": budget_epochs,
        "epochs_trained": last_epoch,
        "rule": f"first epoch that no later epoch's mean validation accuracy beats by more than {tolerance:.0%}",
        "converged_epoch": epoch,
        "converged_at_end": epoch == last_epoch and len(epoch_means(curve.points)) > 1,
        "checks_after": len(after),
        "accuracy_mean_after": statistics.fmean(after),
        "accuracy_std_after": statistics.stdev(after) if len(after) > 1 else None,
        "best_accuracy": curve.best_accuracy,
        "first_reached": None if hit is None else {"epoch": hit.epoch, "samples": hit.samples, "seconds": hit.seconds},
    }
