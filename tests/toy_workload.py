"""A tiny workload for testing the loop and the runner without MNIST: a linear classifier on blobs."""
from __future__ import annotations

from typing import Any, Iterator

import torch

from pytest_snnbench import Batch, Workload, WorkloadContext


class ToyWorkload(Workload):
    name = "toy"
    target_accuracy = 0.9
    max_epochs = 5
    eval_every_samples = 64
    diverge_at_step: int | None = None  # make the loss NaN from this step on

    def __init__(self, context: WorkloadContext) -> None:
        super().__init__(context)
        generator = torch.Generator().manual_seed(11)
        centres = torch.randn(4, 8, generator=generator) * 3
        labels = torch.arange(320) % 4  # 192 train, 64 validation, 64 test
        self.inputs = centres[labels] + torch.randn(320, 8, generator=generator)
        self.labels = labels
        self.model = torch.nn.Linear(8, 4)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05)
        self.shuffle = context.generator()
        self.steps = 0

    def hyperparameters(self) -> dict[str, Any]:
        return {"batch_size": 16, "time_steps": None, "lr": 0.05}

    def data_info(self) -> dict[str, Any]:
        return {"name": "blobs", "fingerprint": "toy"}

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        order = torch.randperm(192, generator=self.shuffle)
        for start in range(0, 192, 16):
            index = order[start:start + 16]
            yield Batch(self.inputs[index], self.labels[index])

    def train_step(self, batch: Batch) -> torch.Tensor:
        self.steps += 1
        loss = torch.nn.functional.cross_entropy(self.model(batch.inputs), batch.targets)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        if self.diverge_at_step is not None and self.steps >= self.diverge_at_step:
            return loss * float("nan")
        return loss

    def sample_budget(self) -> int:
        return 192 * self.max_epochs

    def validation_batches(self) -> Iterator[Batch]:
        yield Batch(self.inputs[192:256], self.labels[192:256])

    def test_batches(self) -> Iterator[Batch]:
        yield Batch(self.inputs[256:], self.labels[256:])

    def split_labels(self) -> dict[str, torch.Tensor]:
        return {"train": self.labels[:192], "validation": self.labels[192:256], "test": self.labels[256:]}

    def predict(self, batch: Batch) -> torch.Tensor:
        return self.model(batch.inputs).argmax(1)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])

    # Checkpoints: a plain Workload names its state itself (TensorDataWorkload has defaults).
    def training_state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "shuffle": self.shuffle.get_state(), "steps": self.steps}

    def load_training_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.shuffle.set_state(state["shuffle"])
        self.steps = int(state["steps"])

    def epoch_order_state(self) -> dict[str, Any]:
        return {"shuffle": self.shuffle.get_state()}

    def load_epoch_order_state(self, state: dict[str, Any]) -> None:
        self.shuffle.set_state(state["shuffle"])


# A test module for pytester sessions: the toy workload as a training and an inference test.
TOY_TESTS = '''
import pytest
from tests.toy_workload import ToyWorkload

@pytest.mark.training
def test_toy_training(snnbench, benchmark):
    snnbench.train(ToyWorkload, benchmark)

@pytest.mark.inference
def test_toy_inference(snnbench, benchmark):
    snnbench.infer(ToyWorkload, benchmark)
'''
