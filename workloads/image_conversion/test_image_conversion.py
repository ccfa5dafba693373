"""Workload 5, Image-Conversion: an MLP trained with backprop, converted to an SNN by BindsNET.

The DNN is a three-layer perceptron 784-1200-1200-10 (the fully connected net of Diehl et al.
2015) with ReLU after the hidden layers and biases fixed at zero, as Diehl et al. prescribe
(they are kept as zero tensors that are never trained, because BindsNET's normalisation rescales
every layer's bias). It is trained with Adam to its target accuracy: that is a preparation step,
timed and recorded on its own (``test_image_conversion_dnn_preparation``, not one of the nine
workloads), and its weights are cached like other trained models.

Splits (pytest_snnbench.data.mnist_splits): the DNN trains on the training images outside a fixed,
class-stratified validation split of 5,000, is checked once per epoch on that validation split
(which decides its stop), and its test accuracy is measured once after it stops. The conversion's
normalisation uses training images only; the SNN's accuracy, asserted by the inference workload,
is on the test split. Hyper-parameters are Diehl et al.'s network and common Adam settings, not
tuned here; the smoke scale's were sized on training and validation data.

Conversion, outside the inference time: BindsNET's ``ann_to_snn`` with its data-based weight
normalisation (the 99.9th percentile of each layer's activations) computed on the first
``norm_samples`` TRAINING images, given exactly as the SNN receives them; never on test data.
The SNN uses BindsNET's subtractive-reset integrate-and-fire neurons; each image drives the input
layer as a constant current for ``time_steps`` steps. The class is the output neuron with the most
spikes, ties (common in the first steps) going to the higher membrane potential, then the lower
index.

Two engines simulate the SNN (``--snnbench-conversion-engine``, recorded as ``engine`` in the
inference record and its run identity): ``bindsnet`` runs BindsNET's ``Network.run``, the reference;
``event`` (event_engine.py) computes the same network spike by spike in a compiled loop, proven equal
by tests/test_conversion_engines.py. The DNN and its conversion are the same for both, so the
preparation step and the model cache do not depend on the engine.

The inference workload times the SNN over the test set and asserts its accuracy. Recorded under
``data.conversion``: the DNN's test accuracy, the SNN's, the drop, the number of time steps and
the SNN's accuracy after every ``report_every_steps`` steps of the same timed pass.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

import pytest
import torch
from bindsnet.conversion import ann_to_snn
from bindsnet.conversion.nodes import SubtractiveResetIFNodes
from bindsnet.network.monitors import AbstractMonitor
from torch import nn

from pytest_snnbench import Batch, TensorDataWorkload, WorkloadContext
from pytest_snnbench.dense_limit import DenseKernel
from pytest_snnbench.data import mnist_splits
from pytest_snnbench.plugin import workload_options
from pytest_snnbench.verdict import SMOKE_TARGET_SOURCE, Score
from pytest_snnbench.workload import count_correct

from ..image_plugin import resolve_conversion_engine
from .event_engine import EventEngine, layer_chain

pytestmark = [pytest.mark.image, pytest.mark.conversion]


@dataclass(frozen=True)
class Config:
    hidden: int = 1200
    batch_size: int = 100
    learning_rate: float = 1e-3
    max_epochs: int = 15
    dnn_target_accuracy: float = 0.98  # the paper's DNN reached 97.76 %
    snn_target_accuracy: float = 0.965  # the paper's SNN reached 96.72 %
    time_steps: int = 100
    report_every_steps: int = 10
    norm_samples: int = 10000
    norm_percentile: float = 99.9
    eval_batch_size: int = 1000
    train_samples: int | None = None
    validation_size: int = 5000  # held out of the training images (the same split at every scale)
    check_samples: int | None = None  # validation images a check screens (None: all); confirmed on all
    test_samples: int | None = None


DENSE_STEPS = 10  # time steps the dense-limit kernel is timed over (a tenth of the full scale's)

CONFIGS = {
    "full": Config(),
    # A narrower net on 8,192 real training images and 2,000 test images: seconds (untrained it
    # scores about 10 %, the majority class 11 %). Targets decided on validation by
    # docs/tuning/smoke_targets.py over seeds 0-4 and 1 and 2 threads: the DNN's first checks reach up
    # to 90.3 % and its plateaus start at 93.2 % (91 %); the SNN converted from a DNN stopped there
    # scores from 91.6 % on validation (89 %).
    "smoke": Config(hidden=256, batch_size=64, max_epochs=4, dnn_target_accuracy=0.91, snn_target_accuracy=0.89,
                    time_steps=50, report_every_steps=10, norm_samples=2048, eval_batch_size=500,
                    train_samples=8192, check_samples=2000, test_samples=2000),
}


class Perceptron(nn.Module):
    """784-hidden-hidden-10 with ReLU; biases exist (BindsNET rescales them) but stay zero.

    The layers sit in a Sequential one level down on purpose: BindsNET's data-based normalisation
    only rescales layers found inside a Sequential child and silently leaves a flat Sequential
    unnormalised (which costs several points of SNN accuracy).
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                    nn.Linear(hidden, 10))
        for module in self.layers:
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)
                module.bias.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


class OutputReadout(AbstractMonitor):
    """Output spike counts of each sample, and the class predicted after every ``every`` steps."""

    def __init__(self, layer, every: int) -> None:
        super().__init__()
        self.layer, self.every = layer, every
        self.reset_state_variables()

    def record(self) -> None:
        spikes = self.layer.s.view(self.layer.s.shape[0], -1)
        self.counts = spikes.float() if self.counts is None else self.counts + spikes
        self.steps += 1
        if self.steps % self.every == 0:
            self.predictions[self.steps] = self.predict()

    def predict(self) -> torch.Tensor:
        # Counts are whole numbers and the clamped potential is below 1: it only breaks ties.
        potential = self.layer.v.view(self.counts.shape).clamp(0.0, 0.999)
        return (self.counts + potential).argmax(1)

    def reset_state_variables(self) -> None:
        self.counts: torch.Tensor | None = None
        self.steps = 0
        self.predictions: dict[int, torch.Tensor] = {}


class ImageConversion(TensorDataWorkload):
    """Training is the DNN's; ``prepare_inference`` converts it (outside the timing); inference is the SNN's."""

    name = "image-conversion"

    def __init__(self, context: WorkloadContext, engine: str = "bindsnet") -> None:
        super().__init__(context)
        self.config = CONFIGS[context.scale]
        self.engine_name = engine
        self.event_engine: EventEngine | None = None
        self.max_epochs = self.config.max_epochs
        self.eval_every_samples = None  # the DNN is checked once per epoch
        mnist = mnist_splits(context, self.config.validation_size)
        self.data_summary = mnist.info()
        self.train_inputs = mnist.train.images[: self.config.train_samples].flatten(1)
        self.train_labels = mnist.train.labels[: self.config.train_samples]
        self.validation_inputs = mnist.validation.images.flatten(1)
        self.validation_labels = mnist.validation.labels
        self.check_samples = self.config.check_samples
        self.test_inputs = mnist.test.images[: self.config.test_samples].flatten(1)
        self.test_labels = mnist.test.labels[: self.config.test_samples]
        self.batch_size, self.eval_batch_size = self.config.batch_size, self.config.eval_batch_size
        self.dnn = Perceptron(self.config.hidden).to(self.device)
        self.optimizer = torch.optim.Adam([p for p in self.dnn.parameters() if p.requires_grad],
                                          lr=self.config.learning_rate)
        self.loss = nn.CrossEntropyLoss()
        self.shuffle = context.generator()
        self.snn = None
        self.readout: OutputReadout | None = None
        self.dnn_test_accuracy: float | None = None
        self.correct_by_steps: dict[int, int] = {}
        self.counted = 0

    @property
    def target_source(self) -> str:  # type: ignore[override]
        if self.context.scale == "smoke":
            return SMOKE_TARGET_SOURCE
        if self.snn is None:
            return "ours: the paper's DNN reached 97.76 %, so its DNN target is set at 98 %"
        return "the paper: its converted SNN reached 96.72 %, so 96.5 %"

    @property
    def target_accuracy(self) -> float:  # type: ignore[override]
        """The DNN's target while it trains; the SNN's once it is converted."""
        return self.config.dnn_target_accuracy if self.snn is None else self.config.snn_target_accuracy

    def hyperparameters(self) -> dict[str, Any]:
        """The engine joins them once the SNN exists: the DNN (its training, its cached model) is the
        same whichever engine then simulates the SNN."""
        engine = {"engine": self.engine_name} if self.snn is not None else {}
        return {**asdict(self.config), **engine, "network": f"MLP 784-{self.config.hidden}-{self.config.hidden}-10 (layers in a nested Sequential)",
                "bias": "fixed at zero", "optimizer": "Adam", "conversion": "bindsnet.conversion.ann_to_snn",
                "normalization": "data-based, training images", "neuron": "SubtractiveResetIFNodes",
                "encoding": "constant input current"}

    def data_info(self) -> dict[str, Any]:
        info = {**self.data_summary, "train_samples_used": len(self.train_labels),
                "validation_samples_used": len(self.validation_labels), "test_samples_used": len(self.test_labels)}
        if self.snn is not None:
            by_steps = {steps: correct / self.counted for steps, correct in sorted(self.correct_by_steps.items())}
            snn_accuracy = by_steps.get(self.config.time_steps)
            info["conversion"] = {
                "dnn_test_accuracy": self.dnn_test_accuracy,
                "snn_test_accuracy": snn_accuracy,
                "accuracy_drop": None if snn_accuracy is None else self.dnn_test_accuracy - snn_accuracy,
                "time_steps": self.config.time_steps,
                "normalization_train_images": min(self.config.norm_samples, len(self.train_labels)),
                "snn_accuracy_by_time_steps": by_steps,
            }
        return info

    # -- DNN training (the preparation step; train_batches: TensorDataWorkload's) ---------------
    def train_step(self, batch: Batch) -> torch.Tensor:
        self.dnn.train()
        loss = self.loss(self.dnn(batch.inputs), batch.targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def dnn_accuracy(self, batches: Iterable[Batch]) -> float:
        self.dnn.eval()
        return Score(*count_correct(self, batches=batches, predict=lambda batch: self.dnn(batch.inputs).argmax(1)))

    def validation_score(self, count: int | None = None) -> float:
        """The DNN's validation accuracy: the check that stops its training (screen and confirmation)."""
        return self.dnn_accuracy(self.validation_batches(count))

    def test_accuracy(self) -> float:
        """The trained DNN's test accuracy (the SNN's is the inference workload's)."""
        return self.dnn_accuracy(self.test_batches())

    # -- conversion and SNN inference ---------------------------------------------------------
    def prepare_inference(self) -> None:
        """Lifecycle step before the inference timing: convert the trained DNN."""
        if self.snn is None:
            self.convert()

    def convert(self) -> None:
        """DNN accuracy, then BindsNET's conversion normalised on training images only."""
        self.dnn_test_accuracy = self.dnn_accuracy(self.test_batches())
        normalization_data = self.train_inputs[: self.config.norm_samples]
        with torch.no_grad():
            self.snn = ann_to_snn(self.dnn, input_shape=[784], data=normalization_data,
                                  percentile=self.config.norm_percentile, node_type=SubtractiveResetIFNodes)
        self.snn.to(self.device)
        self.snn.train(False)
        output = self.snn.layers[max(self.snn.layers, key=lambda name: name.isdigit() and int(name))]
        self.readout = OutputReadout(output, self.config.report_every_steps)
        self.snn.add_monitor(self.readout, name="readout")
        if self.engine_name == "event":
            self.event_engine = EventEngine(self.snn)

    def begin_test_pass(self) -> None:
        self.correct_by_steps, self.counted = {}, 0  # one pass over the test set is one measurement

    def end_test_pass(self) -> None:
        """The tallies by time step were kept on the device during the pass (no host sync per batch);
        read once here. In a data-parallel run each rank counted its slice: they are summed."""
        self.correct_by_steps = {step: int(count) for step, count in self.correct_by_steps.items()}
        world = self.context.world
        if self.snn is None or not world.distributed:
            return
        every, steps = self.config.report_every_steps, self.config.time_steps
        done = list(range(every, steps + 1, every))
        summed = world.sum([self.correct_by_steps.get(step, 0) for step in done] + [self.counted])
        self.correct_by_steps = {step: int(value) for step, value in zip(done, summed)}
        self.counted = int(summed[-1])

    def predict(self, batch: Batch) -> torch.Tensor:
        if self.snn is None or self.readout is None:
            raise RuntimeError("image-conversion: predict() before prepare_inference() converted the DNN")
        if self.event_engine is not None:
            run = self.event_engine.run(batch.inputs, self.config.time_steps, self.config.report_every_steps)
            predictions, predicted = run.predictions, run.final
        else:
            predictions, predicted = self._run_bindsnet(batch)
        for done, by_step in predictions.items():
            self.correct_by_steps[done] = self.correct_by_steps.get(done, 0) + (by_step == batch.targets).sum()
        self.counted += batch.size
        return predicted

    def _run_bindsnet(self, batch: Batch) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        steps = self.config.time_steps
        # The image at every step. A copy: BindsNET's input layer keeps the tensor it is given as its
        # spikes and zeroes them in place on reset, which would erase the test images themselves.
        current = batch.inputs.clone().unsqueeze(0).expand(steps, -1, -1)
        self.readout.reset_state_variables()
        self.snn.run(inputs={"Input": current}, time=steps)
        predictions, predicted = dict(self.readout.predictions), self.readout.predict()
        self.snn.reset_state_variables()
        return predictions, predicted

    def dense_kernel(self, phase: str) -> DenseKernel | None:
        """The dense limit of the SNN's inference (pytest_snnbench.dense_limit): every step as a dense
        simulator must compute it, each layer's whole input vector times its whole weight matrix (on
        BindsNET's own tensors) and the IF update, for one test batch and ``DENSE_STEPS`` of its time
        steps, with nothing around the torch kernels."""
        if phase != "inference" or self.snn is None:
            return None
        images = next(iter(self.test_batches())).inputs
        names, connections = layer_chain(self.snn)
        threshold = float(self.snn.layers[names[-1]].thresh)
        steps = min(DENSE_STEPS, self.config.time_steps)

        def run() -> None:
            with torch.no_grad():
                potentials = [torch.zeros(images.shape[0], c.w.shape[1], device=images.device) for c in connections]
                spikes = [torch.zeros_like(images)] + [torch.zeros_like(v) for v in potentials]
                for _ in range(steps):
                    currents = [s @ c.w + c.b for s, c in zip(spikes, connections)]  # synchronous, as BindsNET
                    spikes[0] = images
                    for k, (v, current) in enumerate(zip(potentials, currents)):
                        v.add_(current)
                        fired = (v >= threshold).float()
                        v.sub_(fired * threshold)
                        spikes[k + 1] = fired

        shapes = " + ".join(f"{images.shape[0]}x{c.w.shape[0]} @ {c.w.shape[0]}x{c.w.shape[1]}" for c in connections)
        return DenseKernel(run, samples=images.shape[0] * steps / self.config.time_steps,
                           what=f"per step {shapes} (torch matmul) and the IF update, {steps} of "
                                f"{self.config.time_steps} steps of one test batch")

    # -- trained state ---------------------------------------------------------------------
    def trained_modules(self) -> dict[str, nn.Module]:
        return {"dnn": self.dnn}

    @contextlib.contextmanager
    def complexity_model(self) -> Iterator[Any]:
        """What the complexity pass counts: the converted SNN (a BindsNET network) once it exists,
        simulated by BindsNET itself for the counting pass (the event engine computes the same spikes
        in compiled code no hook sees); the DNN while it trains."""
        if self.snn is None:
            yield self.trained_modules()
            return
        own, self.event_engine = self.event_engine, None
        try:
            yield self.snn
        finally:
            self.event_engine = own


@pytest.mark.training
def test_image_conversion_dnn_preparation(snnbench, benchmark) -> None:
    """Not one of the nine workloads: trains the DNN that workload 5 converts, timed on its own."""
    snnbench.train(ImageConversion, benchmark)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Two engines given (--snnbench-conversion-engine=bindsnet,event): the inference runs with each."""
    if "conversion_engine" not in metafunc.fixturenames:
        return
    engines = workload_options(metafunc.config).get("snnbench_conversion_engine", ("auto",))
    if len(engines) > 1:
        metafunc.parametrize("conversion_engine", engines)


@pytest.fixture
def conversion_engine(snnbench) -> str:
    """The one engine asked for (several engines parametrize the inference test instead)."""
    return snnbench.option("snnbench_conversion_engine")[0]


@pytest.mark.inference
def test_image_conversion_inference(snnbench, benchmark, conversion_engine: str) -> None:
    snnbench.infer(ImageConversion, benchmark,
                   engine=resolve_conversion_engine(conversion_engine, snnbench.options.device))
