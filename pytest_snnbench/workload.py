"""What a workload provides; the loop, timing, profiling and recording live elsewhere in the plugin.

A workload is one class: its configuration (class attributes and ``hyperparameters``), its model,
and its steps. The plugin drives it through this interface for training and for inference.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, TypeVar

import torch

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
    speech_task: str = "35"  # --snnbench-speech-task: "35" words or the "12"-class task
    speech_epochs: int | None = None  # --snnbench-speech-epochs: epoch budget of the speech workloads
    # Data sets already loaded in this session, shared by all workloads (and failures, so that a
    # missing data set is reported once per workload without retrying a download each time).
    datasets: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

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

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU generator seeded from the session seed: shuffles never touch the global RNG."""
        return torch.Generator().manual_seed(self.seed + offset)


class Workload(ABC):
    """One SNNBench workload family (training and inference share the model and data)."""

    name: ClassVar[str]  # e.g. "image-backprop"
    target_accuracy: float  # test accuracy in [0, 1] that training must reach
    max_epochs: int  # training budget
    eval_every_samples: int | None = None  # None: evaluate once per epoch

    def __init__(self, context: WorkloadContext) -> None:
        self.context = context
        self.device = context.device

    # -- configuration --------------------------------------------------------------------
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

    # -- inference ------------------------------------------------------------------------
    @abstractmethod
    def test_batches(self) -> Iterable[Batch]:
        """The test set, in a fixed order."""

    @abstractmethod
    def predict(self, batch: Batch) -> torch.Tensor:
        """Predicted class per sample (called under torch.no_grad)."""

    def prepare_evaluation(self) -> None:
        """Work needed before predictions are valid (e.g. STDP label assignment). Counted in time to target."""

    def evaluate(self) -> float:
        """Test accuracy in [0, 1]; the plugin's periodic check during training."""
        self.prepare_evaluation()
        correct, total = count_correct(self)
        return correct / total

    # -- trained state, handed from training to inference ------------------------------------
    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values only: it is saved and loaded with weights_only=True."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def count_correct(workload: Workload) -> tuple[int, int]:
    """Correct predictions and samples over the whole test set, without gradients."""
    correct = total = 0
    with torch.no_grad():
        for batch in workload.test_batches():
            predicted = workload.predict(batch)
            correct += int((predicted == batch.targets).sum())
            total += batch.size
    if total == 0:
        raise RuntimeError(f"{workload.name}: the test set is empty")
    return correct, total
