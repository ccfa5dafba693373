"""Workloads 3 and 4, Image-Backprop: a convolutional SNN trained by surrogate gradients (snnTorch).

Network 12C5-MP2-64C5-MP2-FC10 of snnTorch Leaky neurons (beta 0.5), fast-sigmoid surrogate
(slope 25), the image as direct input at each of 50 time steps, rate cross-entropy loss, Adam 1e-2
with the SNNBench script's betas (0.9, 0.9999), batch 128; target 95 % (the paper reached 97.73 %
after one epoch).

Splits (pytest_snnbench.data.mnist_splits): training on the 55,000 training images outside a fixed,
class-stratified validation split of 5,000; every check, the stop and the target decision on that
validation split; the 10,000 test images only report (once after training, and in the inference
workload, which asserts the target there). No hyper-parameter was chosen here: they are the paper's
and the reference script's. The smoke scale's smaller settings were sized on the training and
validation splits (a shorter run of the same network that still clears its learning-off score and
the majority class by far more than 10 points).

Speed without changing the computation: the layers run one after another over all time steps
(layer-by-layer) instead of all layers once per step. A feed-forward SNN allows it because a
layer's state at step t only depends on its own input up to t. The first convolution sees the
same image at every step, so its current is computed once; the second convolution and the
readout see all steps in one large batched call.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pytest
import snntorch as snn
import snntorch.functional as SF
import torch
import torch.nn.functional as F
from snntorch import surrogate
from torch import nn

from pytest_snnbench import Batch, TensorDataWorkload, WorkloadContext
from pytest_snnbench.data import mnist_splits
from pytest_snnbench.verdict import SMOKE_TARGET_SOURCE

pytestmark = [pytest.mark.image, pytest.mark.backprop]


@dataclass(frozen=True)
class Config:
    time_steps: int = 50
    batch_size: int = 128
    learning_rate: float = 1e-2
    beta: float = 0.5
    surrogate_slope: float = 25.0
    betas: tuple[float, float] = (0.9, 0.9999)  # the SNNBench script's (torch's default is 0.999)
    train_samples: int | None = None  # None: the whole training split
    validation_size: int = 5000  # held out of the training images (the same split at every scale)
    check_samples: int | None = None  # validation images a check screens (None: all); confirmed on all
    test_samples: int | None = None
    eval_batch_size: int = 1000
    eval_every_samples: int | None = 12800  # 100 batches; and at each epoch's end
    max_epochs: int = 3  # the paper needs one; more only if the target is not met
    target_accuracy: float = 0.95


CONFIGS = {
    "full": Config(),
    # The same network on the real MNIST, 10 steps, 8,192 training images, two epochs: under a minute
    # on 2 cores (untrained it scores about 10 %, the majority class 11 %). Budget and target decided
    # on validation by docs/tuning/smoke_targets.py over seeds 0-4 and 1 and 2 threads: with 4,096
    # images the slowest run's plateau (78 %) lay below the fastest run's first check (82 %); with
    # 8,192 every plateau is at 87.3 % or more, so the target is the rule's plateau bound, 86 %.
    "smoke": Config(time_steps=10, batch_size=64, train_samples=8192, check_samples=1000,
                    test_samples=2000, eval_batch_size=500, eval_every_samples=4096, max_epochs=2,
                    target_accuracy=0.86),
}

TARGET_SOURCES = {"full": "the paper: 95 % (its Image-Backprop reached 97.73 % after one epoch)",
                  "smoke": SMOKE_TARGET_SOURCE}


class ConvSNN(nn.Module):
    """12C5-MP2-64C5-MP2-FC10 with a Leaky neuron after each stage."""

    def __init__(self, beta: float, slope: float) -> None:
        super().__init__()
        spike_grad = surrogate.fast_sigmoid(slope=slope)
        self.conv1 = nn.Conv2d(1, 12, 5)
        self.conv2 = nn.Conv2d(12, 64, 5)
        self.fc = nn.Linear(64 * 4 * 4, 10)
        self.lif1 = snn.Leaky(beta=beta, spike_grad=spike_grad)
        self.lif2 = snn.Leaky(beta=beta, spike_grad=spike_grad)
        self.lif3 = snn.Leaky(beta=beta, spike_grad=spike_grad)

    def forward(self, images: torch.Tensor, time_steps: int) -> torch.Tensor:
        """Output spikes [time, batch, 10] for images [batch, 1, 28, 28]."""
        batch = images.shape[0]
        current1 = F.max_pool2d(self.conv1(images), 2)  # identical at every step: computed once
        spikes1 = leaky_over_time(self.lif1, current1.expand(time_steps, *current1.shape))
        # channels-last (NHWC) is the layout oneDNN's convolution and pooling run fastest in.
        spikes1 = spikes1.flatten(0, 1).contiguous(memory_format=torch.channels_last)
        current2 = F.max_pool2d(self.conv2(spikes1), 2)
        # Features in (row, column, channel) order are a free view of the channels-last tensor; the
        # readout weight is permuted to match, so each output is the same sum of the same products.
        spikes2 = leaky_over_time(self.lif2, current2.permute(0, 2, 3, 1).reshape(time_steps, batch, -1))
        weight = self.fc.weight.view(10, 64, 4, 4).permute(0, 2, 3, 1).reshape(10, -1)
        return leaky_over_time(self.lif3, F.linear(spikes2, weight, self.fc.bias))


def leaky_over_time(neuron: snn.Leaky, currents: torch.Tensor) -> torch.Tensor:
    """Run a Leaky neuron over currents [time, ...] from rest; returns spikes [time, ...]."""
    membrane = torch.zeros_like(currents[0])
    spikes = []
    for current in currents:
        spike, membrane = neuron(current, membrane)
        spikes.append(spike)
    return torch.stack(spikes)


class ImageBackprop(TensorDataWorkload):
    name = "image-backprop"

    def __init__(self, context: WorkloadContext) -> None:
        super().__init__(context)
        self.config = CONFIGS[context.scale]
        self.target_accuracy = self.config.target_accuracy
        self.target_source = TARGET_SOURCES[context.scale]
        self.max_epochs = self.config.max_epochs
        self.eval_every_samples = self.config.eval_every_samples
        mnist = mnist_splits(context, self.config.validation_size)
        self.data_summary = mnist.info()
        self.train_inputs = mnist.train.images[: self.config.train_samples]
        self.train_labels = mnist.train.labels[: self.config.train_samples]
        self.validation_inputs, self.validation_labels = mnist.validation.images, mnist.validation.labels
        self.check_samples = self.config.check_samples
        self.test_inputs = mnist.test.images[: self.config.test_samples]
        self.test_labels = mnist.test.labels[: self.config.test_samples]
        self.batch_size, self.eval_batch_size = self.config.batch_size, self.config.eval_batch_size
        self.model = ConvSNN(self.config.beta, self.config.surrogate_slope).to(
            self.device, memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.learning_rate,
                                          betas=self.config.betas)
        self.loss = SF.ce_rate_loss()
        self.shuffle = context.generator()

    def hyperparameters(self) -> dict[str, Any]:
        return {**asdict(self.config), "network": "12C5-MP2-64C5-MP2-FC10", "neuron": "snntorch.Leaky",
                "surrogate": "fast_sigmoid", "optimizer": "Adam", "loss": "ce_rate_loss", "encoding": "direct",
                "execution": "layer-by-layer over time"}

    def data_info(self) -> dict[str, Any]:
        return {**self.data_summary, "train_samples_used": len(self.train_labels),
                "validation_samples_used": len(self.validation_labels), "test_samples_used": len(self.test_labels)}

    def train_step(self, batch: Batch) -> torch.Tensor:
        self.model.train()
        spikes = self.model(batch.inputs, self.config.time_steps)
        loss = self.loss(spikes, batch.targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def predict(self, batch: Batch) -> torch.Tensor:
        self.model.eval()
        return self.model(batch.inputs, self.config.time_steps).sum(0).argmax(1)


@pytest.mark.training
def test_image_backprop_training(snnbench, benchmark) -> None:
    snnbench.train(ImageBackprop, benchmark)


@pytest.mark.inference
def test_image_backprop_inference(snnbench, benchmark) -> None:
    snnbench.infer(ImageBackprop, benchmark)
