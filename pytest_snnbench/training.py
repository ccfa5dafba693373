"""The one train-to-target loop that every training workload runs, and the timed inference pass."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from .curve import AccuracyCurve, CurvePoint
from .device import clock
from .progress import Progress
from .workload import Workload, count_correct

REACHED, MISSED, DIVERGED = "reached", "missed", "diverged"


@dataclass
class TrainingOutcome:
    status: str  # reached | missed | diverged
    curve: AccuracyCurve
    seconds: float  # wall time of the whole run, evaluations included
    evaluation_seconds: float
    samples: int
    steps: int
    epochs: int  # epochs started
    divergence: str | None = None

    @property
    def train_seconds(self) -> float:
        return self.seconds - self.evaluation_seconds

    @property
    def train_throughput(self) -> float | None:
        """Training samples per second, periodic evaluations left out."""
        return self.samples / self.train_seconds if self.train_seconds > 0 else None


@dataclass
class _LossMeter:
    total: float = 0.0
    count: int = 0

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1

    def pop_mean(self) -> float | None:
        mean = self.total / self.count if self.count else None
        self.total, self.count = 0.0, 0
        return mean


@dataclass
class _Run:
    workload: Workload
    device: torch.device
    curve: AccuracyCurve
    started: float
    evaluation_seconds: float = 0.0
    samples: int = 0
    steps: int = 0
    losses: _LossMeter = field(default_factory=_LossMeter)

    def evaluate(self, epoch: int) -> CurvePoint:
        begin = clock(self.device)
        accuracy = self.workload.evaluate()
        end = clock(self.device)
        self.evaluation_seconds += end - begin
        point = CurvePoint(epoch=epoch, samples=self.samples, seconds=end - self.started,
                           accuracy=accuracy, loss=self.losses.pop_mean(), split=self.workload.check_split)
        self.curve.add(point)
        return point


def train_to_target(workload: Workload, device: torch.device,
                    on_evaluation: Callable[[CurvePoint], None] | None = None,
                    progress: Progress | None = None) -> TrainingOutcome:
    """Train until the validation accuracy reaches the workload's target or its epoch budget runs out.

    Evaluations run every ``eval_every_samples`` training samples and at the end of each epoch,
    and count towards the time, as MLPerf's time to accuracy does. A NaN or infinite loss ends
    the run at once with status ``diverged``; what was measured until then is kept. ``progress``
    shows each evaluation and, on long stretches between them, a line now and then.
    """
    run = _Run(workload, torch.device(device), AccuracyCurve(workload.target_accuracy), clock(device))
    every = workload.eval_every_samples
    next_evaluation = every or 0
    due = progress.next_due if progress else float("inf")

    def evaluated(point: CurvePoint) -> None:
        nonlocal due
        if on_evaluation:
            on_evaluation(point)
        if progress:
            progress.evaluation(point.epoch, point.samples, point.accuracy, workload.check_split)
            due = progress.next_due

    def finish(status: str, epoch: int, divergence: str | None = None) -> TrainingOutcome:
        seconds = clock(device) - run.started
        return TrainingOutcome(status, run.curve, seconds, run.evaluation_seconds, run.samples,
                               run.steps, epoch, divergence)

    epoch = 0
    for epoch in range(1, workload.max_epochs + 1):
        for batch in workload.train_batches(epoch):
            loss = workload.train_step(batch)
            run.samples += batch.size
            run.steps += 1
            if loss is not None:
                value = float(loss.detach())
                if not math.isfinite(value):
                    return finish(DIVERGED, epoch,
                                  f"loss became {value} at step {run.steps} (epoch {epoch}, "
                                  f"{run.samples} samples)")
                run.losses.add(value)
            if every and run.samples >= next_evaluation:
                next_evaluation += every
                point = run.evaluate(epoch)
                evaluated(point)
                if point.accuracy >= workload.target_accuracy:
                    return finish(REACHED, epoch)
            elif time.perf_counter() >= due:  # one clock read per step; a line only when one is due
                progress.step(epoch, run.samples)
                due = progress.next_due
        if not run.curve.points or run.curve.points[-1].samples != run.samples:
            point = run.evaluate(epoch)
            evaluated(point)
            if point.accuracy >= workload.target_accuracy:
                return finish(REACHED, epoch)
    return finish(MISSED, epoch)


@dataclass(frozen=True)
class InferenceOutcome:
    accuracy: float
    samples: int
    seconds: float

    @property
    def throughput(self) -> float | None:
        return self.samples / self.seconds if self.seconds > 0 else None


def run_inference(workload: Workload, device: torch.device, progress: Progress | None = None) -> InferenceOutcome:
    """Predict the whole test set once; the accuracy comes from the same pass that is timed."""
    begin = clock(device)
    correct, total = count_correct(workload, progress)
    seconds = clock(device) - begin
    if progress:
        progress.finished_pass(total, correct / total)
    return InferenceOutcome(correct / total, total, seconds)
