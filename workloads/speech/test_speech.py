"""Workloads 6 to 9, Speech-LIF and Speech-LSNN, and the LSTM baseline (Google Speech Commands v0.02).

As in the paper: one input layer (the log-mel features), one recurrent layer and a leaky-integrator
readout. The recurrent layer is Norse's recurrent LIF (Speech-LIF), Norse's LSNN with adaptive
thresholds (Speech-LSNN), or an LSTM of the same size (the DNN baseline of the paper's figure 4, a
workload of its own and not one of the nine). Each log-mel frame is one time step. Training by
surrogate gradients (Norse's triangle, dampened to 0.3 as in Bellec et al.'s LSNN), cross-entropy on
the readout voltage's mean over time (clearly better than its maximum on the real subset), Adam.

The recurrent layer comes from a framework (``--snnbench-framework``, default the paper's: Norse for
the SNNs, torch for the LSTM); frameworks.py lists them, one via_<framework>_<neuron>.py module each,
network.py has the layers they share and docs/frameworks.md how each expresses the paper's neuron.
Norse's layers run its equations with the input projection and the readout's linear layer done once
for all time steps instead of once per step, and the readout's leaky integrator, a linear filter,
as one product with its impulse response (tests/test_speech_models.py: equal to Norse's modules).

Configuration and how the hyper-parameters were chosen: config.py. Splits: training on the
archive's training clips; every check, the stop and the target decision on the clips of
``validation_list.txt``; the test clips only report.

Target: 90 % validation accuracy (the paper's target), asserted again on the test split by the
inference workloads, on the paper's task (``--snnbench-speech-task=snnbench``, the default: ten
command words, background, unknown); ``35`` and ``12`` run the other tasks with the same target.
--snnbench-speech-epochs=N sets the epoch budget (and so the length of the cosine decay).
"""
from __future__ import annotations

import functools
from dataclasses import asdict, replace
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pytest_snnbench import Batch, TensorDataWorkload, WorkloadContext
from pytest_snnbench.data import speech_commands_on_device
from pytest_snnbench.data.splits import balanced_first, balanced_subset
from pytest_snnbench.frameworks import RunsOnFramework
from pytest_snnbench.plugin import workload_options
from pytest_snnbench.verdict import SMOKE_TARGET_SOURCE

from . import event_engine, frameworks
from .config import CONFIGS, Config  # noqa: F401  (Config: tests resize the smoke scale)
from .network import build_model

pytestmark = [pytest.mark.speech]

RECURRENT_LAYERS = {"lif": "recurrent current-based LIF, reset to 0, no autapses",
                    "lsnn": "recurrent LSNN (LIF with adaptive threshold), no autapses", "lstm": "LSTM"}


# -- the workloads (options: speech_plugin.py; the framework axis: framework_plugin.py) ----------------
class SpeechWorkload(RunsOnFramework, TensorDataWorkload):
    """``task``: "snnbench" (the paper's), "35" words or the "12"-class task; ``epochs``: the epoch
    budget (None: the config's)."""

    neuron: str

    def __init__(self, context: WorkloadContext, task: str = "snnbench", epochs: int | None = None,
                 framework: str = "paper", engine: str = "framework") -> None:
        super().__init__(context)
        self.framework = frameworks.CATALOGS[self.neuron].load(framework)
        self.engine = engine
        self.config = CONFIGS[context.scale]
        if epochs:
            self.config = replace(self.config, max_epochs=epochs)
        self.target_accuracy = dict(self.config.neuron_targets).get(self.neuron, self.config.target_accuracy)
        self.target_source = (SMOKE_TARGET_SOURCE if context.scale == "smoke" else
                              "the paper: 90 % (its SNNBench speech target)")
        self.max_epochs = self.config.max_epochs
        self.eval_every_samples = self.config.eval_every_samples
        self.check_samples = self.config.check_samples
        self.task = task
        data = speech_commands_on_device(context, self.task, self.config.features)
        self.classes = data.classes
        self.data_summary = data.info()
        # A capped split keeps a fixed, class-balanced selection, not a prefix (the clips are sorted by
        # word, and the paper's task is two thirds "unknown" in the full archive).
        for split, cap in (("train", self.config.train_samples), ("validation", None),
                           ("test", self.config.test_samples)):
            part = getattr(data, split)
            # The whole validation split, its class-balanced screen first (a check's prefix).
            chosen = balanced_first(part.labels, self.config.check_samples) if split == "validation" else \
                balanced_subset(part.labels, cap)
            setattr(self, f"{split}_inputs", part.features[chosen])
            setattr(self, f"{split}_labels", part.labels[chosen])
        self.batch_size, self.eval_batch_size = self.config.batch_size, self.config.eval_batch_size
        make_recurrent = (self.framework.module.make_recurrent if engine == "framework" else
                          functools.partial(event_engine.make_recurrent, neuron=self.neuron))
        self.model = build_model(make_recurrent, self.config, len(self.classes)).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.learning_rate)
        self.build_schedules()
        self.shuffle = context.generator()  # training order only; the test order is fixed

    def build_schedules(self) -> None:
        """The cosine decay to 0 over the epoch budget's optimiser steps, from the optimiser's current
        rate (rebuilt by distribute() when the global batch and the rate are scaled)."""
        steps = self.max_epochs * self.steps_per_epoch()
        self.schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, steps)
                         if self.config.cosine_schedule else None)

    def hyperparameters(self) -> dict[str, Any]:
        config = asdict(self.config)
        config["features"] = {**config["features"], "frames": self.config.features.frames}
        # The framework's name and whether it is compiled define the computation; its version, its
        # proof of equality and its mapping are in the record (record.framework_fields), not the recipe.
        # The engine only where it is not the framework's own code: those runs keep their identity.
        engine = {"engine": self.engine} if self.engine != "framework" else {}
        return {**config, **engine, "task": self.task, "classes": len(self.classes), "neuron": self.neuron,
                "framework": self.framework.name, "compiled": self.framework.compiled,
                "recurrent_layer": RECURRENT_LAYERS[self.neuron], "time_steps": self.config.features.frames,
                "surrogate": (f"norse '{self.config.surrogate}' (height {self.config.surrogate_alpha})"
                              if self.neuron != "lstm" else None),
                "readout": f"linear -> norse leaky integrator, {self.config.decode} over time", "loss": "cross-entropy",
                "optimizer": "Adam", "network": f"{self.config.features.n_mels}-{self.config.hidden_size}R-{len(self.classes)}"}

    def data_info(self) -> dict[str, Any]:
        return {**self.data_summary, "train_samples_used": len(self.train_labels),
                "validation_samples_used": len(self.validation_labels), "test_samples_used": len(self.test_labels)}

    def augment(self, features: torch.Tensor) -> torch.Tensor:
        return self.shifted(features)

    def shifted(self, features: torch.Tensor) -> torch.Tensor:
        """Each clip moved in time by a random whole number of frames; the edge frames repeat."""
        limit = self.config.time_shift
        if not limit:
            return features
        batch, frames, bands = features.shape
        shift = torch.randint(-limit, limit + 1, (batch, 1), generator=self.shuffle).to(features.device)
        source = (torch.arange(frames, device=features.device) - shift).clamp_(0, frames - 1)
        return features.gather(1, source.unsqueeze(-1).expand(batch, frames, bands))

    def train_step(self, batch: Batch) -> torch.Tensor:
        self.model.train()
        loss = F.cross_entropy(self.network(batch.inputs), batch.targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.config.gradient_clip)
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        return loss

    def predict(self, batch: Batch) -> torch.Tensor:
        self.model.eval()
        return self.network(batch.inputs).argmax(1)


class SpeechLIF(SpeechWorkload):
    name = "speech-lif"
    neuron = "lif"


class SpeechLSNN(SpeechWorkload):
    name = "speech-lsnn"
    neuron = "lsnn"


class SpeechLSTM(SpeechWorkload):
    name = "speech-lstm"
    neuron = "lstm"


def _settings(snnbench, framework: str, engine: str = "framework", neuron: str = "lif") -> dict[str, Any]:
    """The speech workloads' own options (--snnbench-speech-task, --snnbench-speech-epochs), the
    framework and the engine; the event engine runs the paper's (Norse's) LIF and LSNN only."""
    if engine == "event":
        catalog = frameworks.CATALOGS[neuron]
        if neuron == "lstm":  # torch's nn.LSTM, the baseline: it runs once, with its framework's code
            if "framework" in snnbench.option("snnbench_speech_engine"):
                pytest.skip("the LSTM has no event engine; it runs in the framework variant")
            engine = "framework"
        elif catalog.resolve(framework) != "norse":
            pytest.skip(f"the event engine computes Norse's {neuron.upper()} (the paper's); run it with "
                        "--snnbench-framework=paper or norse, not " + framework)
    return {"task": snnbench.option("snnbench_speech_task"), "epochs": snnbench.option("snnbench_speech_epochs"),
            "framework": framework, "engine": engine}


def _catalog(node: Any) -> frameworks.Catalog:
    """The catalogue of the recurrent layer a test's marker names (lif, lsnn or lstm)."""
    return next(catalog for neuron, catalog in frameworks.CATALOGS.items() if node.get_closest_marker(neuron))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Several frameworks given (--snnbench-framework=norse,snntorch), or both engines
    (--snnbench-speech-engine=framework,event): each runs, side by side."""
    _catalog(metafunc.definition).parametrize(metafunc)
    engines = workload_options(metafunc.config).get("snnbench_speech_engine", ("framework",))
    if "speech_engine" in metafunc.fixturenames and len(engines) > 1:
        metafunc.parametrize("speech_engine", engines)


@pytest.fixture
def speech_engine(snnbench) -> str:
    """The one engine asked for (both parametrize the tests instead)."""
    return snnbench.option("snnbench_speech_engine")[0]


@pytest.fixture
def framework(request: pytest.FixtureRequest) -> str:
    """The one framework asked for (several parametrize the tests instead)."""
    return _catalog(request.node).selected(request.config)[0]


@pytest.mark.training
@pytest.mark.backprop
@pytest.mark.lif
def test_speech_lif_training(snnbench, benchmark, framework: str, speech_engine: str) -> None:
    snnbench.train(SpeechLIF, benchmark, **_settings(snnbench, framework, speech_engine, "lif"))


@pytest.mark.inference
@pytest.mark.backprop
@pytest.mark.lif
def test_speech_lif_inference(snnbench, benchmark, framework: str, speech_engine: str) -> None:
    snnbench.infer(SpeechLIF, benchmark, **_settings(snnbench, framework, speech_engine, "lif"))


@pytest.mark.training
@pytest.mark.backprop
@pytest.mark.lsnn
def test_speech_lsnn_training(snnbench, benchmark, framework: str, speech_engine: str) -> None:
    snnbench.train(SpeechLSNN, benchmark, **_settings(snnbench, framework, speech_engine, "lsnn"))


@pytest.mark.inference
@pytest.mark.backprop
@pytest.mark.lsnn
def test_speech_lsnn_inference(snnbench, benchmark, framework: str, speech_engine: str) -> None:
    snnbench.infer(SpeechLSNN, benchmark, **_settings(snnbench, framework, speech_engine, "lsnn"))


@pytest.mark.training
@pytest.mark.lstm
def test_speech_lstm_training(snnbench, benchmark, framework: str, speech_engine: str) -> None:
    snnbench.train(SpeechLSTM, benchmark, **_settings(snnbench, framework, speech_engine, "lstm"))


@pytest.mark.inference
@pytest.mark.lstm
def test_speech_lstm_inference(snnbench, benchmark, framework: str, speech_engine: str) -> None:
    snnbench.infer(SpeechLSTM, benchmark, **_settings(snnbench, framework, speech_engine, "lstm"))
