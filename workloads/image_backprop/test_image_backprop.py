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

The network and its layer-by-layer execution are in network.py; the neuron comes from a framework
(``--snnbench-framework``, default snnTorch, the paper's; frameworks.py lists them, one via_*.py
module each, and docs/frameworks.md says how each expresses the paper's neuron). The engine
(``--snnbench-backprop-engine``) is the framework's own code (default) or event_engine.py, which
computes snnTorch's network with compiled neurons and spike-driven layers (recorded as ``engine``).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
import snntorch.functional as SF
import torch

from pytest_snnbench import Batch, TensorDataWorkload, WorkloadContext
from pytest_snnbench.data import mnist_splits
from pytest_snnbench.dense_limit import DenseKernel
from pytest_snnbench.frameworks import RunsOnFramework
from pytest_snnbench.plugin import workload_options

from . import frameworks
from .config import CONFIGS, TARGET_SOURCES, Config  # noqa: F401  (Config: tests resize the smoke scale)
from .event_engine import EventConvSNN
from .network import ConvSNN

pytestmark = [pytest.mark.image, pytest.mark.backprop]


class ImageBackprop(RunsOnFramework, TensorDataWorkload):
    name = "image-backprop"

    def __init__(self, context: WorkloadContext, framework: str = frameworks.PAPER, engine: str = "framework") -> None:
        super().__init__(context)
        self.framework = frameworks.load(framework)
        self.engine = engine
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
        model = (ConvSNN(self.framework.module.make_neuron, self.config.beta, self.config.surrogate_slope)
                 if engine == "framework" else EventConvSNN(self.config.beta, self.config.surrogate_slope))
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.learning_rate,
                                          betas=self.config.betas)
        self.loss = SF.ce_rate_loss()
        self.shuffle = context.generator()

    def hyperparameters(self) -> dict[str, Any]:
        # The framework's name and whether it is compiled define the computation; its version, its
        # proof of equality and its mapping are in the record (record.framework_fields), not the recipe.
        # The engine only where it is not the framework's own code: those runs keep their identity.
        engine = {"engine": self.engine} if self.engine != "framework" else {}
        return {**asdict(self.config), **engine, "network": "12C5-MP2-64C5-MP2-FC10", "framework": self.framework.name,
                "compiled": self.framework.compiled,
                "surrogate": "fast_sigmoid", "optimizer": "Adam", "loss": "ce_rate_loss", "encoding": "direct",
                "execution": "layer-by-layer over time"}

    def data_info(self) -> dict[str, Any]:
        return {**self.data_summary, "train_samples_used": len(self.train_labels),
                "validation_samples_used": len(self.validation_labels), "test_samples_used": len(self.test_labels)}

    def train_step(self, batch: Batch) -> torch.Tensor:
        self.model.train()
        spikes = self.network(batch.inputs, self.config.time_steps)
        loss = self.loss(spikes, batch.targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def predict(self, batch: Batch) -> torch.Tensor:
        self.model.eval()
        return self.network(batch.inputs, self.config.time_steps).sum(0).argmax(1)

    def dense_kernel(self, phase: str) -> DenseKernel:
        """The dense limit (pytest_snnbench.dense_limit): the second convolution and its pooling alone,
        as torch runs them densely (oneDNN, channels last) on the real shapes, on maps of random
        binary spikes (a dense kernel's time does not depend on them): for training, forward and
        backward (input and weight gradients) for one training batch at all time steps; for
        inference, the forward for one evaluation batch at 10 of its time steps, scaled."""
        training = phase == "training"
        batch = self.batch_size if training else self.eval_batch_size
        steps = self.config.time_steps if training else min(10, self.config.time_steps)
        generator = torch.Generator().manual_seed(0)
        spikes = (torch.rand(steps * batch, 12, 12, 12, generator=generator) < 0.1).float()
        spikes = spikes.to(self.device).contiguous(memory_format=torch.channels_last).requires_grad_(training)
        conv = torch.nn.Conv2d(12, 64, 5).to(self.device, memory_format=torch.channels_last)

        def run() -> None:
            with torch.set_grad_enabled(training):
                pooled = torch.nn.functional.max_pool2d(conv(spikes), 2)
                if training:
                    torch.autograd.grad(pooled, (spikes, conv.weight, conv.bias), torch.ones_like(pooled))
            if spikes.is_cuda:
                torch.cuda.synchronize()

        what = (f"conv2 (12->64, 5x5) + max-pool on {steps * batch} maps of 12x12x12 spikes, "
                + ("forward and backward (input, weight and bias gradients)" if training else "forward"))
        return DenseKernel(run=run, samples=batch * steps / self.config.time_steps, what=what)


def _engine(framework: str, engine: str) -> dict[str, Any]:
    """The framework and the engine; the event engine computes snnTorch's network (the paper's) only."""
    if engine == "event" and framework != frameworks.PAPER:
        pytest.skip(f"the event engine computes snnTorch's network (the paper's); run it with "
                    f"--snnbench-framework=paper or snntorch, not {framework}")
    return {"framework": framework, "engine": engine}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Several frameworks given (--snnbench-framework=snntorch,sinabs), or both engines
    (--snnbench-backprop-engine=framework,event): each runs, side by side."""
    frameworks.CATALOG.parametrize(metafunc)
    engines = workload_options(metafunc.config).get("snnbench_backprop_engine", ("framework",))
    if "backprop_engine" in metafunc.fixturenames and len(engines) > 1:
        metafunc.parametrize("backprop_engine", engines)


@pytest.fixture
def framework(request: pytest.FixtureRequest) -> str:
    """The one framework asked for (several parametrize the tests instead)."""
    return frameworks.CATALOG.selected(request.config)[0]


@pytest.fixture
def backprop_engine(snnbench) -> str:
    """The one engine asked for (both parametrize the tests instead)."""
    return snnbench.option("snnbench_backprop_engine")[0]


@pytest.mark.training
def test_image_backprop_training(snnbench, benchmark, framework: str, backprop_engine: str) -> None:
    snnbench.train(ImageBackprop, benchmark, **_engine(framework, backprop_engine))


@pytest.mark.inference
def test_image_backprop_inference(snnbench, benchmark, framework: str, backprop_engine: str) -> None:
    snnbench.infer(ImageBackprop, benchmark, **_engine(framework, backprop_engine))
