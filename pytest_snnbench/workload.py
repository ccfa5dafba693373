"""What a workload provides; the loop, timing, profiling and recording live elsewhere in the plugin.

A workload is one class: its configuration (class attributes and ``hyperparameters``), its model,
and its steps. Three splits, three jobs: it trains on ``train_batches``; every check during
training, and so the stop and the target decision, runs on ``validation_batches``; the test split
(``test_batches``) only reports: once after training stops (``test_accuracy`` in the record) and in
the inference workload, which asserts the target there as an independent check.

The runner calls the steps of its lifecycle in this order, and in no other:

1. build: ``__init__(context, **settings)`` loads the data and builds the model (untimed); before
   training, a second, fresh instance measures ``learning_off_accuracy()`` (untimed), the score that
   the target must clearly beat;
2. training (timed as one run): for each epoch ``train_batches(epoch)``, ``train_step(batch)`` per
   batch, and every ``eval_every_samples`` samples and at each epoch's end ``evaluate()`` (by
   default ``prepare_evaluation()`` and then a pass over ``validation_batches()``); afterwards,
   untimed, one test pass (step 5) and ``state_dict()``;
3. inference: ``load_state_dict(state)`` with the trained state (or a training run, untimed);
4. ``prepare_inference()`` once, outside the timing (e.g. converting an ANN to an SNN);
5. a test pass: ``begin_test_pass()`` (reset what must be the same on every pass, such as the
   noise generator), then ``predict(batch)`` for each of ``test_batches()``. Inference runs one
   untimed warm-up batch (a pass of its own) and then one timed pass over the whole test set.

Checkpoints (checkpoint.py): during step 2 the loop may save the run at a batch boundary and a
later process may resume it. The loop keeps its own state (position in the data, samples, curve,
times, global random generators); the workload adds the rest through two pairs of methods:

- ``training_state()`` / ``load_training_state(state)``: everything else that the next steps depend
  on, as it is at the boundary (model, optimiser, scheduler, the workload's own generators and
  counters), so that the resumed run computes exactly what the uninterrupted one would have;
- ``epoch_order_state()`` / ``load_epoch_order_state(state)``: what ``train_batches(epoch)`` draws
  the epoch's order from, taken just before each epoch; on resume the loop puts it back, calls
  ``train_batches(epoch)`` again and drops the batches trained already, then loads the training state.

Both hold tensors, plain containers, numbers and strings only (saved and loaded with
``weights_only=True``). A workload without them trains without checkpoints.

``TensorDataWorkload`` supplies the batching, the trained state and the checkpoint state for
workloads whose data are tensors and whose model is one ``torch.nn.Module`` (or a few).
"""
from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import torch

from .distributed import World
from .slowdown import stretched
from .verdict import Score

D = TypeVar("D")


@dataclass(frozen=True)
class Batch:
    inputs: Any
    targets: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.targets.shape[0])


@dataclass(frozen=True)
class WorkloadContext:
    """What the session tells a workload: where to run, at which scale, with which data."""

    device: torch.device
    scale: str
    seed: int
    data_dir: Path
    cache_dir: Path
    allow_download: bool
    # Values of the options that workloads declared (pytest_snnbench_add_options), by dest name.
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    # Data sets already loaded in this session, shared by all workloads (and failures, so that a
    # missing data set is reported once per workload without retrying a download each time).
    datasets: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The ranks a data-parallel workload runs on (distributed.py); one process otherwise, and always
    # for workloads that are not data-parallel.
    world: World = field(default_factory=World, compare=False)

    def dataset(self, key: str, load: Callable[[], D]) -> D:
        """Load a data set once per session; ``load`` may raise DataSetError."""
        if key not in self.datasets:
            try:
                self.datasets[key] = load()
            except Exception as error:
                self.datasets[key] = error
        value = self.datasets[key]
        if isinstance(value, Exception):
            raise value
        return value

    def option(self, name: str, default: Any = None) -> Any:
        """A workload option's parsed value (``snnbench_stdp_batch`` for ``--snnbench-stdp-batch``)."""
        return self.options.get(name, default)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU generator seeded from the session seed: shuffles never touch the global RNG."""
        return torch.Generator().manual_seed(self.seed + offset)


class Workload(ABC):
    """One SNNBench workload family (training and inference share the model and data)."""

    name: str  # e.g. "image-backprop"; an instance may refine it (e.g. "image-stdp-400")
    target_accuracy: float  # accuracy in [0, 1]: training must reach it on validation, inference on test
    max_epochs: int  # training budget
    eval_every_samples: int | None = None  # None: evaluate once per epoch
    check_split: str = "validation"  # the split ``evaluate`` measures (shown in progress lines and the curve)
    # Where ``target_accuracy`` came from (recorded): the paper, or the named validation procedure.
    target_source: str = "unstated"
    # Under torchrun: True when every rank trains on its slice of each global batch (``distribute``)
    # and evaluates its slice of each evaluation batch; False runs the workload on rank 0 alone.
    data_parallel: bool = False

    def __init__(self, context: WorkloadContext) -> None:
        self.context = context
        self.device = context.device

    # -- configuration --------------------------------------------------------------------
    def train_for_epochs(self, epochs: int) -> None:
        """A convergence run (``--snnbench-budget=epochs:N``): the budget becomes ``epochs``, all of
        them trained (the loop does not stop at the target). Called right after construction."""
        self.max_epochs = epochs

    @abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """Everything that defines what is computed: recorded with each result, keys the model cache."""

    @abstractmethod
    def data_info(self) -> dict[str, Any]:
        """Which data was used (name, sizes, fingerprint), for the record."""

    # -- training -------------------------------------------------------------------------
    @abstractmethod
    def train_batches(self, epoch: int) -> Iterable[Batch]:
        """The training batches of one epoch (1-based), in a seeded order."""

    @abstractmethod
    def train_step(self, batch: Batch) -> torch.Tensor | None:
        """One optimisation step; returns the loss (None for rules without one, like STDP)."""

    @abstractmethod
    def validation_batches(self) -> Iterable[Batch]:
        """The validation split in a fixed order: held out of training, where every check, the stop
        and the target decision happen. No side effects: reset state in ``begin_test_pass``."""

    # -- inference ------------------------------------------------------------------------
    @abstractmethod
    def test_batches(self) -> Iterable[Batch]:
        """The test set, in a fixed order. No side effects: reset state in ``begin_test_pass``."""

    @abstractmethod
    def predict(self, batch: Batch) -> torch.Tensor:
        """Predicted class per sample (called under torch.no_grad)."""

    def begin_test_pass(self) -> None:
        """Called before every pass over test batches (checks, warm-up, the timed pass, profiling):
        reset what must be identical on every pass, e.g. a noise generator or per-pass tallies."""

    def end_test_pass(self) -> None:
        """Called after every counted pass (``count_correct``). In a data-parallel run each rank saw
        its slice of each batch: sum per-pass tallies over the ranks here (``self.context.world.sum``)."""

    def distribute(self) -> None:
        """Before data-parallel training (``data_parallel``): wrap what trains so that the ranks'
        gradients are combined (``self.context.world.data_parallel(module, device)``)."""
        raise NotImplementedError(f"{type(self).__name__} is data-parallel but does not implement distribute()")

    def sample_budget(self) -> int | None:
        """Training samples until the end of the budget (for progress lines), if known."""
        return None

    def test_samples(self) -> int | None:
        """Samples in the test set (for progress lines), if known."""
        return None

    def prepare_evaluation(self) -> None:
        """Work needed before predictions are valid (e.g. STDP label assignment). Counted in time to target."""

    def prepare_inference(self) -> None:
        """Called once after the trained state is in place and before the inference warm-up and timing
        (e.g. ANN-to-SNN conversion): never part of the timed inference pass."""

    def evaluate(self) -> float:
        """Validation accuracy in [0, 1]: the plugin's periodic check during training. Returning a
        ``pytest_snnbench.verdict.Score`` (a float that knows its counts) gives the record an interval."""
        self.prepare_evaluation()
        return Score(*count_correct(self, batches=self.validation_batches()))

    def test_accuracy(self) -> float:
        """The trained model's accuracy on the test split, measured once after training stops
        (untimed): reported, never used to decide anything."""
        self.prepare_evaluation()
        return Score(*count_correct(self))

    def learning_off_accuracy(self) -> float:
        """What this freshly built network scores on validation without learning (called on an
        instance that never trains). A target that does not clearly beat it, or the majority class,
        measures nothing; the runner checks the margin. Default: ``evaluate()`` before any training."""
        return self.evaluate()

    def split_labels(self) -> dict[str, torch.Tensor]:
        """The labels of the samples each split uses (``train``, ``validation``, ``test``): class
        counts and the majority-class accuracy of the record come from them."""
        return {}

    # -- trained state, handed from training to inference ------------------------------------
    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values only: it is saved and loaded with weights_only=True."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    # -- checkpoints: the rest of the training run's state (see the module's docstring) ------------
    def training_state(self) -> dict[str, Any]:
        """The state at a batch boundary beyond the loop's own: model, optimiser, scheduler, own
        generators (``get_state()``) and counters. May hold live references: it is saved at once."""
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")

    def load_training_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")

    def epoch_order_state(self) -> dict[str, Any]:
        """What the next ``train_batches(epoch)`` will draw the epoch's order from (e.g. the shuffle
        generator's state); the loop takes it just before calling ``train_batches``."""
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")

    def load_epoch_order_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")


def supports_checkpoints(workload: Workload) -> bool:
    """True if the workload's class implements the checkpoint methods (all four)."""
    kind = type(workload)
    return all(getattr(kind, name) is not getattr(Workload, name) for name in (
        "training_state", "load_training_state", "epoch_order_state", "load_epoch_order_state"))


def count_correct(workload: Workload, progress: Any = None, batches: Iterable[Batch] | None = None,
                  predict: Callable[[Batch], torch.Tensor] | None = None) -> tuple[int, int]:
    """Correct predictions and samples over the whole test set (or ``batches``, e.g. a validation
    split), without gradients; ``progress`` (a ``progress.Progress``) shows a line now and then.
    ``predict`` replaces ``workload.predict`` (e.g. a converted network's DNN before conversion).

    In a data-parallel run every rank predicts its slice of each batch and the counts are summed.
    The count stays on the device until the pass ends: no host sync per batch inside a timed pass."""
    world = workload.context.world
    predict = predict or workload.predict
    correct: Any = 0
    total = 0
    expected = workload.test_samples() if batches is None else None
    workload.begin_test_pass()
    with torch.no_grad():
        for batch in workload.test_batches() if batches is None else batches:
            total += batch.size
            mine = world.evaluation_shard(batch)
            if mine is not None:
                with stretched():  # test-only slowdown (pytest_snnbench.slowdown); nothing when unset
                    correct = correct + (predict(mine) == mine.targets).sum()
            if progress is not None and time.perf_counter() >= progress.next_due:
                progress.pass_progress(total, expected or total)
    workload.end_test_pass()
    correct = int(world.sum([int(correct)])[0])
    if total == 0:
        raise RuntimeError(f"{workload.name}: the test set is empty")
    return correct, total


class TensorDataWorkload(Workload):
    """A workload whose data sets are tensors on the device and whose trained state is ``self.model``.

    Set ``train_inputs``, ``train_labels``, ``validation_inputs``, ``validation_labels``,
    ``test_inputs``, ``test_labels``, ``batch_size``, ``eval_batch_size`` and ``shuffle`` (a
    generator from ``context.generator()``) in ``__init__``;
    optionally ``samples_per_epoch`` (a sample budget per epoch), and override ``augment`` for
    training-time augmentation or ``trained_modules`` when the state is not one ``model``.
    """

    train_inputs: torch.Tensor
    train_labels: torch.Tensor
    validation_inputs: torch.Tensor
    validation_labels: torch.Tensor
    test_inputs: torch.Tensor
    test_labels: torch.Tensor
    batch_size: int
    eval_batch_size: int
    shuffle: torch.Generator
    samples_per_epoch: int | None = None
    # Validation samples a check screens (None: all). A screen that reaches the target is confirmed
    # on the whole validation split, whose accuracy then stands for the check: a stop never rests on
    # a lucky subset (the verdict rule, pytest_snnbench.verdict).
    check_samples: int | None = None
    data_parallel = True

    def train_for_epochs(self, epochs: int) -> None:
        """Also: every check measures the whole validation split (no screen), so that every point
        of the curve, and the spread after convergence, is measured on the same samples; and the
        learning-rate schedules are rebuilt to span the new budget."""
        super().train_for_epochs(epochs)
        self.check_samples = None
        self._rebuild_schedules()

    def evaluate(self) -> float:
        """The check: the first ``check_samples`` validation samples, confirmed on all of them when
        that screen reaches the target."""
        self.prepare_evaluation()
        whole = len(self.validation_labels)
        if self.check_samples is not None and self.check_samples < whole:
            screen = self.validation_score(self.check_samples)
            if screen < self.target_accuracy:
                return screen
        return self.validation_score()

    def validation_score(self, count: int | None = None) -> float:
        """Accuracy on the first ``count`` validation samples (all by default), as a ``Score``."""
        return Score(*count_correct(self, batches=self.validation_batches(count)))

    def train_batches(self, epoch: int) -> Iterable[Batch]:
        """A seeded shuffle of the training set (up to ``samples_per_epoch``), in slices of ``batch_size``."""
        order = torch.randperm(len(self.train_labels), generator=self.shuffle)[: self.samples_per_epoch]
        order = order.to(self.device)
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            yield Batch(self.augment(self.train_inputs[index]), self.train_labels[index])

    def sample_budget(self) -> int | None:
        per_epoch = len(self.train_labels)
        if self.samples_per_epoch is not None:
            per_epoch = min(per_epoch, self.samples_per_epoch)
        return per_epoch * self.max_epochs

    def test_samples(self) -> int | None:
        return len(self.test_labels)

    def augment(self, inputs: torch.Tensor) -> torch.Tensor:
        """Training inputs of one batch, changed as the workload trains on them (default: unchanged)."""
        return inputs

    def test_batches(self, count: int | None = None) -> Iterable[Batch]:
        """The first ``count`` test samples (all by default) in order, in slices of ``eval_batch_size``."""
        return self._in_order(self.test_inputs, self.test_labels, count)

    def validation_batches(self, count: int | None = None) -> Iterable[Batch]:
        """The first ``count`` validation samples (all by default) in order."""
        return self._in_order(self.validation_inputs, self.validation_labels, count)

    def _in_order(self, inputs: torch.Tensor, labels: torch.Tensor, count: int | None) -> Iterator[Batch]:
        total = len(labels) if count is None else min(count, len(labels))
        for start in range(0, total, self.eval_batch_size):
            end = min(start + self.eval_batch_size, total)
            yield Batch(inputs[start:end], labels[start:end])

    def split_labels(self) -> dict[str, torch.Tensor]:
        return {"train": self.train_labels, "validation": self.validation_labels, "test": self.test_labels}

    def trained_modules(self) -> dict[str, torch.nn.Module]:
        """The modules whose parameters are the trained state, by key."""
        return {"model": self.model}  # type: ignore[attr-defined]

    def state_dict(self) -> dict[str, Any]:
        return {key: unwrap(module).state_dict() for key, module in self.trained_modules().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, module in self.trained_modules().items():
            unwrap(module).load_state_dict(state[key])

    def distribute(self) -> None:
        """Each trained module with parameters to learn is replaced, in the attribute that holds it,
        by its DistributedDataParallel wrapper (optimisers keep its parameters; the trained state is
        the unwrapped module's). Under ``--snnbench-global-batch=scale`` every rank takes the whole
        configured batch and the learning rates grow by sqrt(ranks), the rule for Adam (Malladi et
        al., NeurIPS 2022), recorded with the run."""
        world = self.context.world
        modules = {id(module) for module in self.trained_modules().values()
                   if any(parameter.requires_grad for parameter in module.parameters())}
        wrappers: dict[int, torch.nn.Module] = {}  # one wrapper per module, however many attributes hold it
        for name, value in list(vars(self).items()):
            if id(value) in modules:
                if id(value) not in wrappers:
                    wrappers[id(value)] = world.data_parallel(value, self.device)
                setattr(self, name, wrappers[id(value)])
        if world.batch_rule == "scale":
            self.batch_size *= world.size
            for value in vars(self).values():
                if isinstance(value, torch.optim.Optimizer):
                    for group in value.param_groups:
                        group["lr"] *= world.size ** 0.5
            self._rebuild_schedules()

    def build_schedules(self) -> None:
        """Build the learning-rate schedulers from ``batch_size``, ``steps_per_epoch()`` and the
        optimisers' current rates. Called by the workload at the end of its ``__init__`` and again by
        ``distribute()`` once the batch and the rates are scaled, so that a schedule spans the steps
        that training really takes. Default: no scheduler."""

    def steps_per_epoch(self) -> int:
        """Optimiser steps in one epoch at the current ``batch_size``."""
        per_epoch = len(self.train_labels)
        if self.samples_per_epoch is not None:
            per_epoch = min(per_epoch, self.samples_per_epoch)
        return math.ceil(per_epoch / self.batch_size)

    def _rebuild_schedules(self) -> None:
        """The schedules again, from the optimisers' current rates (distribute(), train_for_epochs())."""
        for value in vars(self).values():
            if isinstance(value, torch.optim.Optimizer):
                for group in value.param_groups:
                    # a scheduler built anew takes its base rate from here (setdefault), so drop the
                    # one that the scheduler built before left
                    group.pop("initial_lr", None)
        stale = [name for name, value in vars(self).items() if isinstance(value, _STEP_SCHEDULERS)]
        if stale and type(self).build_schedules is TensorDataWorkload.build_schedules:
            # a schedule over steps built for the unscaled batch would be silently wrong
            raise NotImplementedError(
                f"{type(self).__name__} has learning-rate schedulers ({', '.join(stale)}) but does not build them "
                "in build_schedules(); --snnbench-global-batch=scale changes the batch and the rates they depend on")
        self.build_schedules()

    def training_state(self) -> dict[str, Any]:
        """The trained modules, and every attribute that is an optimiser, a learning-rate scheduler or
        a torch.Generator (``shuffle``, augmentation or noise generators), by attribute name."""
        state: dict[str, Any] = {"modules": self.state_dict(), "optimizers": {}, "schedulers": {},
                                 "generators": {}}
        for name, value in vars(self).items():
            if isinstance(value, torch.optim.Optimizer):
                state["optimizers"][name] = value.state_dict()
            elif isinstance(value, _SCHEDULERS):
                state["schedulers"][name] = value.state_dict()
            elif isinstance(value, torch.Generator):
                state["generators"][name] = value.get_state()
        return state

    def load_training_state(self, state: dict[str, Any]) -> None:
        self.load_state_dict(state["modules"])  # parameters are copied into: optimisers keep pointing at them
        for name, saved in state["optimizers"].items():
            getattr(self, name).load_state_dict(saved)
        for name, saved in state["schedulers"].items():
            getattr(self, name).load_state_dict(saved)
        for name, saved in state["generators"].items():
            getattr(self, name).set_state(saved)

    def epoch_order_state(self) -> dict[str, Any]:
        return {"shuffle": self.shuffle.get_state()}  # train_batches draws the order from it first

    def load_epoch_order_state(self, state: dict[str, Any]) -> None:
        self.shuffle.set_state(state["shuffle"])


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The module itself, also when it is wrapped for data-parallel training."""
    from torch.nn.parallel import DistributedDataParallel

    return module.module if isinstance(module, DistributedDataParallel) else module


_SCHEDULERS = tuple(kind for kind in (getattr(torch.optim.lr_scheduler, "LRScheduler", None),
                                      getattr(torch.optim.lr_scheduler, "ReduceLROnPlateau", None)) if kind)
# Schedulers that follow the step count (ReduceLROnPlateau follows the validation loss instead).
_STEP_SCHEDULERS = tuple(kind for kind in _SCHEDULERS if kind is not torch.optim.lr_scheduler.ReduceLROnPlateau)
