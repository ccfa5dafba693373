"""The train-to-target loop: evaluation schedule, stopping, divergence, and determinism."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pytest_snnbench.determinism import seed_everything
from pytest_snnbench import training
from pytest_snnbench.training import LOSS_READ_EVERY, DIVERGED, MISSED, REACHED, run_inference, train_to_target
from pytest_snnbench.workload import WorkloadContext
from tests.conftest import smoke_context
from tests.toy_workload import ToyWorkload

CPU = torch.device("cpu")


@pytest.fixture
def context(tmp_path: Path) -> WorkloadContext:
    return smoke_context(tmp_path, tmp_path)


def fresh(context: WorkloadContext, **attributes) -> ToyWorkload:
    seed_everything(context.seed)
    workload = ToyWorkload(context)
    for name, value in attributes.items():
        setattr(workload, name, value)
    return workload


def test_stops_at_the_first_evaluation_that_reaches_the_target(context: WorkloadContext) -> None:
    outcome = train_to_target(fresh(context), CPU)
    assert outcome.status == REACHED
    points = outcome.curve.points
    assert points[-1].accuracy >= 0.9 and all(p.accuracy < 0.9 for p in points[:-1])
    assert outcome.samples == points[-1].samples and outcome.samples % 64 == 0
    assert all(b.seconds >= a.seconds for a, b in zip(points, points[1:]))
    assert 0 < outcome.evaluation_seconds < outcome.seconds and outcome.train_throughput > 0


def test_evaluates_every_interval_and_at_epoch_end(context: WorkloadContext) -> None:
    outcome = train_to_target(fresh(context, target_accuracy=1.01, max_epochs=2, eval_every_samples=80), CPU)
    assert outcome.status == MISSED
    # 192 samples per epoch: checks every 80 samples seen (a fixed schedule across epochs) and at each
    # epoch's end: 80, 160, 192 (end of epoch 1), 240, 320, 384 (end of epoch 2).
    assert [p.samples for p in outcome.curve.points] == [80, 160, 192, 240, 320, 384]
    assert [p.epoch for p in outcome.curve.points] == [1, 1, 1, 2, 2, 2]
    assert all(p.loss is not None and p.loss > 0 for p in outcome.curve.points)


def test_a_convergence_run_trains_the_whole_budget_past_the_target(context: WorkloadContext) -> None:
    """--snnbench-budget=epochs:N: no stop at the target; the same run's first check at the target
    is where time to target is read, and it is the stopping run's stop (same seed, same curve)."""
    stopping = train_to_target(fresh(context), CPU)
    whole = train_to_target(fresh(context, max_epochs=3), CPU, stop_at_target=False)
    assert whole.status == REACHED and whole.epochs == 3 and whole.samples == 3 * 192
    assert whole.curve.points[-1].epoch == 3 and len(whole.curve.points) > len(stopping.curve.points)
    hit, stop = whole.curve.first_reaching, stopping.curve.points[-1]
    assert (hit.samples, hit.accuracy) == (stop.samples, stop.accuracy)
    missed = train_to_target(fresh(context, max_epochs=2, target_accuracy=1.01), CPU, stop_at_target=False)
    assert missed.status == MISSED and missed.epochs == 2


def test_nan_loss_stops_at_the_next_read_and_keeps_the_curve(context: WorkloadContext) -> None:
    """The loss is read at evaluations (here every 4 steps) and every LOSS_READ_EVERY steps, never per
    step: a NaN at step 7 is caught before the evaluation after step 8, which does not run."""
    outcome = train_to_target(fresh(context, target_accuracy=1.01, diverge_at_step=7), CPU)
    assert outcome.status == DIVERGED
    assert outcome.steps == 8 and outcome.samples == 8 * 16
    assert "loss became nan within steps 5-8" in outcome.divergence
    assert [p.samples for p in outcome.curve.points] == [64]  # the evaluation before the divergence is kept


def test_nan_loss_between_distant_evaluations_is_caught_within_the_read_interval(
        context: WorkloadContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "LOSS_READ_EVERY", 5)  # shorter than the toy's 12-step epoch
    outcome = train_to_target(fresh(context, target_accuracy=1.01, diverge_at_step=3, eval_every_samples=None), CPU)
    assert outcome.status == DIVERGED and outcome.steps == 5
    assert "within steps 1-5" in outcome.divergence and outcome.curve.points == []


def test_the_loss_is_read_at_most_every_read_interval(context: WorkloadContext,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No host sync per step: the loop converts the loss to a Python number only at reads."""
    reads = []
    original = training._LossMeter.read
    monkeypatch.setattr(training._LossMeter, "read", lambda self, world: reads.append(1) or original(self, world))
    outcome = train_to_target(fresh(context, target_accuracy=1.01, max_epochs=2), CPU)
    evaluations = len(outcome.curve.points)
    assert outcome.steps == 24 and len(reads) <= evaluations * 2 + outcome.steps // LOSS_READ_EVERY


def test_same_seed_gives_the_same_curve(context: WorkloadContext) -> None:
    first = train_to_target(fresh(context, target_accuracy=1.01, max_epochs=2), CPU).curve
    second = train_to_target(fresh(context, target_accuracy=1.01, max_epochs=2), CPU).curve
    assert [(p.samples, p.accuracy, p.loss) for p in first.points] == \
        [(p.samples, p.accuracy, p.loss) for p in second.points]


def test_inference_counts_the_whole_test_set(context: WorkloadContext) -> None:
    workload = fresh(context)
    train_to_target(workload, CPU)
    outcome = run_inference(workload, CPU)
    assert outcome.samples == 64 and outcome.accuracy == workload.evaluate() and outcome.throughput > 0


def test_several_timed_passes_count_the_fastest_and_the_first_passes_accuracy() -> None:
    passes = [training.InferenceOutcome(0.5, 10, 3.0, 5), training.InferenceOutcome(0.6, 10, 1.0, 6),
              training.InferenceOutcome(0.7, 10, 2.0, 7)]
    best = training.timed_passes_outcome(passes)
    assert (best.seconds, best.accuracy, best.correct, best.samples) == (1.0, 0.5, 5, 10)
    with pytest.raises(ValueError, match="no inference pass"):
        training.timed_passes_outcome([])


def test_a_convergence_run_is_recorded_with_its_budget_and_its_own_identity(toy_session, pytester) -> None:
    from tests.conftest import read_records

    toy_session("-m", "training", "--snnbench-budget=epochs:2", "--benchmark-json=whole.json").assert_outcomes(passed=1)
    record = read_records(pytester.path / "whole.json")["test_toy_training"]
    assert record["budget"] == {"mode": "epochs", "epochs": 2} and record["epochs_started"] == 2
    assert record["identity"]["fields"]["budget_epochs"] == 2
    convergence = record["convergence"]
    assert convergence["available"] and convergence["budget_epochs"] == 2 and convergence["epochs_trained"] == 2
    assert convergence["first_reached"]["samples"] == record["samples_to_target"]
    assert convergence["checks_after"] >= 1 and 0 <= convergence["accuracy_mean_after"] <= 1
    toy_session("-m", "training", "--benchmark-json=stop.json").assert_outcomes(passed=1)
    stopping = read_records(pytester.path / "stop.json")["test_toy_training"]
    assert stopping["budget"] == {"mode": "target"} and "budget_epochs" not in stopping["identity"]["fields"]
    assert stopping["convergence"]["available"] is False and stopping["samples_to_target"] == record["samples_to_target"]


def test_inference_passes_are_timed_in_one_process_and_recorded(toy_session, pytester) -> None:
    from tests.conftest import read_records

    toy_session("-m", "training").assert_outcomes(passed=1)
    toy_session("-m", "inference", "--snnbench-inference-passes=3", "--benchmark-json=out.json").assert_outcomes(passed=1)
    record = read_records(pytester.path / "out.json")["test_toy_inference"]
    passes = record["inference_passes"]
    assert len(passes) == 3 and record["inference_seconds"] == min(p["seconds"] for p in passes)
    assert record["accuracy"] == passes[0]["accuracy"] and record["identity"]["fields"]["inference_passes"] == 3
    assert record["warmup"]["evaluation_batches"] >= 1
    bench = json.loads((pytester.path / "out.json").read_text())["benchmarks"][0]
    assert bench["stats"]["rounds"] == 3  # pytest-benchmark's own statistics see every pass
    toy_session("-m", "inference", "--snnbench-inference-passes=0").stderr.fnmatch_lines(
        ["*--snnbench-inference-passes=0 must be at least 1*"])
