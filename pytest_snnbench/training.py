"""The one train-to-target loop that every training workload runs, and the timed inference pass."""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from .checkpoint import Alarm, Checkpoints, TrainingInterrupted, set_global_rng_state
from .curve import AccuracyCurve, CurvePoint
from .device import clock
from .progress import Progress
from .slowdown import stretched
from .workload import Workload, count_correct

REACHED, MISSED, DIVERGED = "reached", "missed", "diverged"


@dataclass
class TrainingOutcome:
    status: str  # reached | missed | diverged
    curve: AccuracyCurve
    seconds: float  # timed seconds of the whole run (all segments), evaluations in, checkpoint writing out
    evaluation_seconds: float
    samples: int
    steps: int
    epochs: int  # epochs started
    divergence: str | None = None
    # Checkpoints (checkpoint.py), over all segments of a resumed run:
    resumptions: int = 0
    interrupted_seconds: float = 0.0  # wall time from each resumed checkpoint's moment to its resume
    checkpoint_seconds: float = 0.0  # spent writing checkpoints, outside ``seconds``
    checkpoints_written: int = 0

    @property
    def train_seconds(self) -> float:
        return self.seconds - self.evaluation_seconds

    @property
    def train_throughput(self) -> float | None:
        """Training samples per second, periodic evaluations left out."""
        return self.samples / self.train_seconds if self.train_seconds > 0 else None


# The loss stays on the device between reads: reading it is a host sync on CUDA (and a collective
# in a data-parallel run), so the loop reads it at evaluations, at checkpoints and every
# LOSS_READ_EVERY steps. A NaN or infinite loss makes the sum non-finite, so a diverged run is caught
# at the next read: it trains at most LOSS_READ_EVERY - 1 steps past the one that diverged.
LOSS_READ_EVERY = 50


@dataclass
class _LossMeter:
    """The training loss since the last curve point: ``total`` and ``count`` read, ``pending`` (a
    float64 tensor on the device, the batch-share weighted sum of the steps since the last read) not."""

    total: float = 0.0
    count: int = 0
    pending: Any = None
    pending_steps: int = 0

    def add(self, loss: torch.Tensor, weight: float) -> None:
        value = loss.detach().double() * weight if weight != 1.0 else loss.detach().double()
        self.pending = value if self.pending is None else self.pending + value
        self.pending_steps += 1

    def read(self, world: Any) -> float:
        """Add the pending steps (summed over the ranks) to the total; returns their sum (NaN or
        infinite if a step diverged)."""
        if self.pending is None:
            return 0.0
        value = world.global_loss(float(self.pending), 1.0)
        self.pending, self.total, self.count = None, self.total + value, self.count + self.pending_steps
        self.pending_steps = 0
        return value

    def pop_mean(self, world: Any) -> float | None:
        self.read(world)
        mean = self.total / self.count if self.count else None
        self.total, self.count = 0.0, 0
        return mean

    def state(self) -> dict[str, Any]:
        """For a checkpoint: exact values, so a resumed run adds the same numbers in the same order."""
        return {"loss_total": self.total, "loss_count": self.count,
                "loss_pending": None if self.pending is None else float(self.pending),
                "loss_pending_steps": self.pending_steps}

    @classmethod
    def from_state(cls, saved: dict[str, Any], device: torch.device) -> "_LossMeter":
        pending = saved.get("loss_pending")
        return cls(float(saved["loss_total"]), int(saved["loss_count"]),
                   None if pending is None else torch.tensor(pending, dtype=torch.float64, device=device),
                   int(saved.get("loss_pending_steps", 0)))


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
        loss = self.losses.pop_mean(self.workload.context.world)  # outside the timed evaluation, after it
        point = CurvePoint(epoch=epoch, samples=self.samples, seconds=end - self.started,
                           accuracy=float(accuracy), loss=loss, split=self.workload.check_split,
                           evaluated=getattr(accuracy, "total", None))
        self.curve.add(point)
        return point


def train_to_target(workload: Workload, device: torch.device,
                    on_evaluation: Callable[[CurvePoint], None] | None = None,
                    progress: Progress | None = None, checkpoints: Checkpoints | None = None,
                    resume: dict[str, Any] | None = None, meter: Any = None,
                    stop_at_target: bool = True) -> TrainingOutcome:
    """Train until the validation accuracy reaches the workload's target or its epoch budget runs out.

    ``stop_at_target=False`` (convergence runs, ``--snnbench-budget=epochs:N``) trains the whole
    budget instead; the status is still ``reached`` if any check reached the target, and the curve's
    first point at the target still gives the time to target.

    Evaluations run every ``eval_every_samples`` training samples and at the end of each epoch,
    and count towards the time, as MLPerf's time to accuracy does. A NaN or infinite loss ends
    the run at once with status ``diverged``; what was measured until then is kept. ``progress``
    shows each evaluation and, on long stretches between them, a line now and then.

    ``checkpoints`` (checkpoint.py) writes one at a batch boundary whenever one is due, with the
    clock paused (writing is not training time; ``meter``, an energy meter, pauses with it), and after a Ctrl-C, which then ends the run with
    ``TrainingInterrupted``. ``resume`` (a loaded checkpoint) continues that run exactly: the
    epoch's order is drawn again from the generator state saved at the epoch's start, the batches
    it had trained are taken and dropped without training, and then every generator, the
    workload's state and the loop's are put back as they were at the checkpoint. Time to target
    is then the sum of the timed segments.

    In a data-parallel run (``workload.context.world``) every rank takes the same global batches
    and trains on its slice of each; sample counts, evaluation points and the loss are the global
    batch's, so the curve is the single-process one. The clock starts and stops after a barrier.
    """
    world = workload.context.world
    world.barrier()
    run = _Run(workload, torch.device(device), AccuracyCurve(workload.target_accuracy), clock(device))
    every = workload.eval_every_samples
    next_evaluation = every or 0
    alarm = checkpoints.alarm if checkpoints else Alarm()
    first_epoch, saved = 1, resume["loop"] if resume else None
    if saved:
        first_epoch, next_evaluation = int(saved["epoch"]), int(saved["next_evaluation"])
        run.samples, run.steps = int(saved["samples"]), int(saved["steps"])
        run.evaluation_seconds = float(saved["evaluation_seconds"])
        run.losses = _LossMeter.from_state(saved, torch.device(device))
        for point in saved["curve"]:
            run.curve.add(CurvePoint(**point))

    def rearm() -> None:
        alarm.at = min(progress.next_due if progress else math.inf, checkpoints.due if checkpoints else math.inf)

    def evaluated(point: CurvePoint) -> None:
        if on_evaluation:
            on_evaluation(point)
        if progress:
            progress.evaluation(point.epoch, point.samples, point.accuracy, workload.check_split)
            rearm()

    def finish(status: str, epoch: int, divergence: str | None = None) -> TrainingOutcome:
        world.barrier()  # the slowest rank's time
        seconds = clock(device) - run.started
        outcome = TrainingOutcome(status, run.curve, seconds, run.evaluation_seconds, run.samples,
                                  run.steps, epoch, divergence)
        if checkpoints:
            outcome.resumptions, outcome.interrupted_seconds = checkpoints.resumptions, checkpoints.interrupted_seconds
            outcome.checkpoint_seconds, outcome.checkpoints_written = checkpoints.checkpoint_seconds, checkpoints.written
        return outcome

    def read_loss() -> str | None:
        """Read the losses of the steps since the last read (a host sync); why the run diverged, if it did."""
        since = run.steps - run.losses.pending_steps + 1
        value = run.losses.read(world)
        return None if math.isfinite(value) else _diverged(value, since, run.steps, epoch, run.samples)

    def checkpoint(epoch: int, taken: int, order: dict[str, Any]) -> None:
        assert checkpoints is not None
        begin = clock(device)
        if meter is not None:
            meter.pause()
        loop = {"epoch": epoch, "batches": taken, "order": order, "samples": run.samples, "steps": run.steps,
                "elapsed": begin - run.started, "evaluation_seconds": run.evaluation_seconds,
                "next_evaluation": next_evaluation, **run.losses.state(), "curve": run.curve.as_records()}
        try:
            checkpoints.save(loop, workload.training_state())
        except OSError as error:  # e.g. a full disk: the benchmark goes on, without checkpoints
            checkpoints.give_up(f"{checkpoints.path}: {error.strerror or error}")
            if progress:
                progress.note(f"checkpoints stopped: cannot write {checkpoints.error}")
        if meter is not None:
            meter.resume()
        pause = clock(device) - begin
        run.started += pause  # the clock stands still while a checkpoint is written
        if progress:
            progress.started += pause
        checkpoints.checkpoint_seconds += pause
        checkpoints.arm()

    if checkpoints:
        checkpoints.arm()
    rearm()
    epoch = 0
    for epoch in range(first_epoch, workload.max_epochs + 1):
        order: dict[str, Any] = {}
        if saved:
            order = saved["order"]
            workload.load_epoch_order_state(order)
        elif checkpoints:
            order = workload.epoch_order_state()  # before train_batches draws the epoch's order
        batches = iter(workload.train_batches(epoch))
        taken = 0
        if saved and resume:
            for taken in range(1, int(saved["batches"]) + 1):
                next(batches)  # trained before the checkpoint: taken from the same order, not trained
            workload.load_training_state(resume["workload"])
            set_global_rng_state(resume["rng"])
            run.started = clock(device) - float(saved["elapsed"])  # earlier segments count, the restart does not
            if progress:
                progress.started = time.perf_counter() - float(saved["elapsed"])
            if checkpoints:
                checkpoints.training_again()
            saved = None
        for batch in batches:
            mine, world.gradient_weight = world.training_shard(batch)
            with stretched():  # test-only slowdown (pytest_snnbench.slowdown); nothing when unset
                loss = workload.train_step(mine)
            taken += 1
            run.samples += batch.size
            run.steps += 1
            if loss is not None:
                run.losses.add(loss, world.gradient_weight)
                if run.steps % LOSS_READ_EVERY == 0:
                    diverged = read_loss()
                    if diverged:
                        return finish(DIVERGED, epoch, diverged)
            if every and run.samples >= next_evaluation:
                next_evaluation += every
                diverged = read_loss()
                if diverged:
                    return finish(DIVERGED, epoch, diverged)
                point = run.evaluate(epoch)
                evaluated(point)
                if stop_at_target and point.accuracy >= workload.target_accuracy:
                    return finish(REACHED, epoch)
            now = time.perf_counter()  # one clock read per step; work only when something is due
            if now >= alarm.at:
                if progress and now >= progress.next_due:
                    progress.step(epoch, run.samples)
                if checkpoints and now >= checkpoints.due:
                    if checkpoints.stop_requested and progress:
                        progress.note(f"interrupted at epoch {epoch}, {run.samples:,} samples: writing a checkpoint "
                                      "(Ctrl-C again stops at once, without it)")
                    checkpoint(epoch, taken, order)
                    if checkpoints.stop_requested and checkpoints.error:
                        raise TrainingInterrupted(f"{checkpoints.label} interrupted at epoch {epoch}, "
                                                  f"{run.samples:,} samples; no checkpoint could be written "
                                                  f"({checkpoints.error}), so a rerun starts from the beginning.")
                    if checkpoints.stop_requested:
                        raise TrainingInterrupted(
                            f"{checkpoints.label} interrupted: checkpoint written at epoch {epoch}, "
                            f"{run.samples:,} samples ({checkpoints.path}). Rerun the same command to resume "
                            f"from there; add --snnbench-fresh to start over instead.")
                rearm()
        if not run.curve.points or run.curve.points[-1].samples != run.samples:
            diverged = read_loss()
            if diverged:
                return finish(DIVERGED, epoch, diverged)
            point = run.evaluate(epoch)
            evaluated(point)
            if stop_at_target and point.accuracy >= workload.target_accuracy:
                return finish(REACHED, epoch)
    return finish(REACHED if run.curve.reached else MISSED, epoch)


def _diverged(value: float, since: int, step: int, epoch: int, samples: int) -> str:
    where = f"steps {since}-{step}" if since < step else f"step {step}"
    return (f"loss became {value} within {where} (epoch {epoch}, {samples} samples; the loss is read every "
            f"{LOSS_READ_EVERY} steps and at each evaluation)")


@dataclass(frozen=True)
class InferenceOutcome:
    accuracy: float
    samples: int
    seconds: float
    correct: int = 0

    @property
    def throughput(self) -> float | None:
        return self.samples / self.seconds if self.seconds > 0 else None


def run_inference(workload: Workload, device: torch.device, progress: Progress | None = None) -> InferenceOutcome:
    """Predict the whole test set once; the accuracy comes from the same pass that is timed. In a
    data-parallel run each rank predicts its slice of every batch, between two barriers."""
    workload.context.world.barrier()
    begin = clock(device)
    correct, total = count_correct(workload, progress)
    workload.context.world.barrier()
    seconds = clock(device) - begin
    if progress:
        progress.finished_pass(total, correct / total)
    return InferenceOutcome(correct / total, total, seconds, correct)


def timed_passes_outcome(passes: Sequence[InferenceOutcome]) -> InferenceOutcome:
    """One outcome from several timed passes over the test set: the fastest pass's time (as timeit's
    best of N: on a shared machine the slower passes are other processes' interference, never the
    code's; on a 2-core VM the best of 4 varied by 8.6 % between processes, the median by 9.6 % and a
    single pass by 31 %), and the first pass's accuracy (the verdict's: a stochastic encoding gets no
    second try at the target)."""
    if not passes:
        raise ValueError("no inference pass was timed")
    return dataclasses.replace(passes[0], seconds=min(p.seconds for p in passes))
