"""Workloads 6 to 9, Speech-LIF and Speech-LSNN, and the LSTM baseline (Google Speech Commands v0.02).

As in the paper: one input layer (the log-mel features), one recurrent layer and a leaky-integrator
readout. The recurrent layer is Norse's recurrent LIF (Speech-LIF), Norse's LSNN with adaptive
thresholds (Speech-LSNN), or an LSTM of the same size (the DNN baseline of the paper's figure 4, a
workload of its own and not one of the nine). Each log-mel frame is one time step. Training by
surrogate gradients (Norse's triangle, dampened to 0.3 as in Bellec et al.'s LSNN), cross-entropy on
the readout voltage's mean over time (clearly better than its maximum on the real subset), Adam.

Speed without changing the computation: the recurrent layers run Norse's equations (lif_step and
lsnn_step) with the input projection and the readout's linear layer done once for all time steps
(one large matrix product each) instead of once per step, and the readout's leaky integrator, a
linear filter, as one product with its impulse response. tests/test_speech_models.py checks that
each equals Norse's own module.

Configuration (all recorded with each result): 40 log-mel bands, 10 ms frames (101 steps); 256
recurrent neurons; Norse's Euler step dt = 1 ms per frame with tau_syn 5 ms and tau_mem 20 ms
(decays 0.8 and 0.95 per step), threshold 1, reset to 0, no self-connections; LSNN threshold jump
0.1 per spike, decaying back with tau_adapt 200 ms; readout tau_syn 5 ms, tau_mem 20 ms; Adam 1e-2
with a cosine decay over the epoch budget, batch 32, gradient norm clipped at 1; training clips are
shifted in time by up to 8 frames (one gather per batch on the device, the only augmentation).

Splits and how the hyper-parameters were chosen. Training on the archive's training clips; every
check, the stop and the target decision on the clips of ``validation_list.txt``; the test clips
only report. The choices were made on the validation split of the default (``snnbench``) task of
the real 2,354-clip subset, never on test data: docs/tuning/speech_validation_sweep.py trains
Speech-LIF for 20 epochs per alternative, seed 0, and compares the mean validation accuracy of the
last five epochs: learning rate 1e-2 60.7 % (chosen; 2e-3: 45.8 %, 5e-3: 54.2 %, 2e-2: 59.7 %),
tau_mem 20 ms (40 ms: 47.6 %), the readout's mean over time (its maximum: 29.6 %). The time
constants, the surrogate and the network's shape are the paper's and Norse's; LSNN and the LSTM
use the same settings, so that the three differ only in the recurrent layer.

Target: 90 % validation accuracy (the paper's target), asserted again on the test split by the
inference workloads, on the paper's task (``--snnbench-speech-task=snnbench``, the default: ten
command words, background, unknown); ``35`` and ``12`` run the other tasks with the same target.
--snnbench-speech-epochs=N sets the epoch budget (and so the length of the cosine decay).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pytest_snnbench import Batch, TensorDataWorkload, WorkloadContext
from pytest_snnbench.complexity import probe
from pytest_snnbench.data import speech_commands_on_device
from pytest_snnbench.data.speech_commands import FeatureParameters
from pytest_snnbench.data.splits import balanced_first, balanced_subset
from pytest_snnbench.verdict import SMOKE_TARGET_SOURCE

with warnings.catch_warnings():  # norse decorates with torch.jit.script, deprecated in torch 2.14
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    from norse.torch.functional.leaky_integrator import LIParameters, LIState, li_feed_forward_step
    from norse.torch.functional.lif import LIFParameters
    from norse.torch.functional.lsnn import LSNNParameters
    from norse.torch.functional.threshold import threshold

pytestmark = [pytest.mark.speech]


@dataclass(frozen=True)
class Config:
    hidden_size: int = 256
    batch_size: int = 32
    eval_batch_size: int = 512
    learning_rate: float = 1e-2
    cosine_schedule: bool = True  # learning rate decays to 0 along a cosine over the epoch budget
    time_shift: int = 8  # training clips move by up to this many frames either way (words start anywhere)
    gradient_clip: float = 1.0  # max gradient norm: recurrent spiking nets have rare gradient spikes
    dt: float = 1e-3  # s of simulated time per frame (Norse's default step)
    tau_syn: float = 5e-3  # s; synaptic current time constant (decay 0.8 per step)
    tau_mem: float = 2e-2  # s; membrane time constant (decay 0.95 per step)
    v_th: float = 1.0
    surrogate: str = "triangle"  # norse threshold method; Bellec et al.'s LSNN choice
    surrogate_alpha: float = 0.3  # its height: dampened, so that gradients through 100 steps stay finite
    tau_adapt: float = 2e-1  # s; LSNN threshold adaptation (decay 0.995 per step)
    adapt_beta: float = 0.1  # LSNN threshold jump per spike
    readout_tau_syn: float = 5e-3
    readout_tau_mem: float = 2e-2
    decode: str = "mean"  # class score: readout voltage's mean ("mean") or maximum ("max") over time
    features: FeatureParameters = FeatureParameters()
    train_samples: int | None = None  # None: the whole split
    check_samples: int | None = None  # validation clips a check screens, class-balanced (None: all); confirmed on all
    test_samples: int | None = None
    eval_every_samples: int | None = None  # once per epoch
    max_epochs: int = 40
    target_accuracy: float = 0.90
    neuron_targets: tuple[tuple[str, float], ...] = ()  # (neuron, target) where it differs from target_accuracy


CONFIGS = {
    "full": Config(),
    # The same network on coarser frames (20 bands, 26 steps) and class-balanced caps of at most 4,000
    # training clips and 2,000 test clips of the real data, checks screening a class-balanced 1,000
    # validation clips (confirmed on all): under a minute. Targets per recurrent layer decided on
    # validation by docs/tuning/smoke_targets.py over seeds 0-4 and 1 and 2 threads (on the subset:
    # first checks up to 31 / 28 / 47 %, plateaus from 43 / 41 / 67 % for LIF / LSNN / LSTM; majority
    # class and learning off 10-14 %), after background pieces were cut in proportion to each split.
    "smoke": Config(batch_size=16, learning_rate=1e-2, time_shift=2,
                    features=FeatureParameters(n_mels=20, n_fft=1024, hop_length=640),
                    train_samples=4000, check_samples=1000, test_samples=2000,
                    max_epochs=12, target_accuracy=0.36, neuron_targets=(("lsnn", 0.34), ("lstm", 0.57))),
}


# -- models -----------------------------------------------------------------------------------
def recurrent_weights(hidden: int) -> nn.Parameter:
    """Norse's initialisation, without self-connections (Norse's default, autapses=False)."""
    weights = torch.randn(hidden, hidden) * math.sqrt(2.0 / hidden)
    weights.fill_diagonal_(0.0)
    parameter = nn.Parameter(weights)
    parameter.register_hook(lambda gradient: gradient.clone().fill_diagonal_(0.0))
    return parameter


class RecurrentLIF(nn.Module):
    """Norse's LIFRecurrent (lif_step, Euler steps of dt) with the input projection out of the time loop."""

    def __init__(self, input_size: int, hidden_size: int, p: LIFParameters, dt: float) -> None:
        super().__init__()
        self.input_weights = nn.Parameter(torch.randn(hidden_size, input_size) * math.sqrt(2.0 / hidden_size))
        self.recurrent_weights = recurrent_weights(hidden_size)
        self.p, self.dt = p, dt

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Spikes [T, B, H] for inputs [T, B, I], from rest."""
        p, dt = self.p, self.dt
        currents = F.linear(inputs, self.input_weights)  # all steps at once
        membrane_rate, current_decay = dt * float(p.tau_mem_inv), 1.0 - dt * float(p.tau_syn_inv)
        v_leak, v_th, v_reset = float(p.v_leak), float(p.v_th), float(p.v_reset)
        z = currents.new_zeros(currents.shape[1:])
        v = torch.full_like(z, v_leak)
        i = torch.zeros_like(z)
        recurrent = self.recurrent_weights.t()
        spikes = []
        for current in currents:
            i_jump = torch.addmm(current, z, recurrent).add_(i)
            v_decayed = torch.lerp(v, i_jump + v_leak if v_leak else i_jump, membrane_rate)
            i = i_jump * current_decay
            z = threshold(v_decayed - v_th, p.method, p.alpha)
            fired = z.detach()
            v_before = v
            v = v_decayed * (1.0 - fired) + fired * v_reset if v_reset else v_decayed * (1.0 - fired)
            if probe.active:  # a complexity pass is counting (never during the timed passes)
                probe.neuron_step(self, "norse-LIF", spikes=z, before=v_before, after=v)
            spikes.append(z)
        return torch.stack(spikes)


class RecurrentLSNN(nn.Module):
    """Norse's LSNNRecurrent (lsnn_step: adaptive threshold b) with the input projection out of the loop."""

    def __init__(self, input_size: int, hidden_size: int, p: LSNNParameters, dt: float) -> None:
        super().__init__()
        self.input_weights = nn.Parameter(torch.randn(hidden_size, input_size) * math.sqrt(2.0 / hidden_size))
        self.recurrent_weights = recurrent_weights(hidden_size)
        self.p, self.dt = p, dt

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        p, dt = self.p, self.dt
        currents = F.linear(inputs, self.input_weights)
        membrane_rate, current_decay = dt * float(p.tau_mem_inv), 1.0 - dt * float(p.tau_syn_inv)
        adapt_rate = dt * float(p.tau_adapt_inv)
        v_leak, v_th, v_reset, beta = float(p.v_leak), float(p.v_th), float(p.v_reset), float(p.beta)
        z = currents.new_zeros(currents.shape[1:])
        v = torch.full_like(z, v_leak)
        i = torch.zeros_like(z)
        b = torch.full_like(z, v_th)
        recurrent = self.recurrent_weights.t()
        spikes = []
        for current in currents:
            # Norse's order: decay with the old current, spike, then the current jumps for the next step
            v_decayed = torch.lerp(v, i + v_leak if v_leak else i, membrane_rate)
            b_decayed = b * (1.0 - adapt_rate) + adapt_rate * v_th  # b + dt/tau_b (v_th - b)
            i = torch.addmm(current, z, recurrent).add_(i, alpha=current_decay)
            z = threshold(v_decayed - b_decayed, p.method, p.alpha)
            fired = z.detach()
            v_before = v
            v = v_decayed * (1.0 - fired) + fired * v_reset if v_reset else v_decayed * (1.0 - fired)
            b = b_decayed + fired * beta
            if probe.active:
                probe.neuron_step(self, "norse-LSNN", spikes=z, before=v_before, after=v)
            spikes.append(z)
        return torch.stack(spikes)


class LeakyIntegratorReadout(nn.Module):
    """Linear layer into Norse's leaky integrator (li_feed_forward_step); returns voltages [T, B, C].

    The integrator is linear, so its response is the input convolved with its impulse response; the
    response matrix is computed once per sequence length by running Norse's step on unit impulses.
    """

    def __init__(self, hidden_size: int, classes: int, p: LIParameters, dt: float) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, classes, bias=False)
        self.p, self.dt = p, dt
        self._responses: dict[tuple[int, torch.device], torch.Tensor] = {}

    def response(self, steps: int, device: torch.device) -> torch.Tensor:
        """[T, T]: voltage at step t for a unit input at step s."""
        key = (steps, device)
        if key not in self._responses:
            impulses = torch.eye(steps, dtype=torch.float64)
            state = LIState(torch.zeros(steps, dtype=torch.float64), torch.zeros(steps, dtype=torch.float64))
            rows = []
            for t in range(steps):
                v, state = li_feed_forward_step(impulses[t], state, self.p, self.dt)
                rows.append(v)
            self._responses[key] = torch.stack(rows).float().to(device)
        return self._responses[key]

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        currents = self.linear(spikes)  # [T, B, C]
        kernel = self.response(currents.shape[0], currents.device)
        voltages = (kernel @ currents.flatten(1)).view_as(currents)
        if probe.active:
            probe.neuron_sequence(self, "norse-LI", spikes=None, membranes=voltages)
        return voltages


class SpeechNet(nn.Module):
    """Features [B, T, M] -> class scores [B, C]: the readout voltages' mean (or maximum) over time."""

    def __init__(self, recurrent: nn.Module, readout: LeakyIntegratorReadout, lstm: bool = False,
                 decode: str = "mean") -> None:
        super().__init__()
        if decode not in ("mean", "max"):
            raise ValueError(f"decode must be 'mean' or 'max', not {decode!r}")
        self.recurrent, self.readout, self.lstm, self.decode = recurrent, readout, lstm, decode

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        inputs = features.transpose(0, 1)  # time first, as Norse and nn.LSTM expect
        hidden = self.recurrent(inputs)[0] if self.lstm else self.recurrent(inputs)
        voltages = self.readout(hidden)
        return voltages.amax(0) if self.decode == "max" else voltages.mean(0)


def build_model(neuron: str, config: Config, classes: int) -> SpeechNet:
    inputs, hidden = config.features.n_mels, config.hidden_size
    readout = LeakyIntegratorReadout(hidden, classes, LIParameters(
        tau_syn_inv=torch.as_tensor(1 / config.readout_tau_syn),
        tau_mem_inv=torch.as_tensor(1 / config.readout_tau_mem)), config.dt)
    if neuron == "lif":
        p = LIFParameters(tau_syn_inv=torch.as_tensor(1 / config.tau_syn),
                          tau_mem_inv=torch.as_tensor(1 / config.tau_mem), v_th=torch.as_tensor(config.v_th),
                          method=config.surrogate, alpha=config.surrogate_alpha)
        return SpeechNet(RecurrentLIF(inputs, hidden, p, config.dt), readout, decode=config.decode)
    if neuron == "lsnn":
        p = LSNNParameters(tau_syn_inv=torch.as_tensor(1 / config.tau_syn),
                           tau_mem_inv=torch.as_tensor(1 / config.tau_mem),
                           tau_adapt_inv=torch.as_tensor(1 / config.tau_adapt),
                           v_th=torch.as_tensor(config.v_th), beta=torch.as_tensor(config.adapt_beta),
                           method=config.surrogate, alpha=config.surrogate_alpha)
        return SpeechNet(RecurrentLSNN(inputs, hidden, p, config.dt), readout, decode=config.decode)
    if neuron == "lstm":
        return SpeechNet(nn.LSTM(inputs, hidden), readout, lstm=True, decode=config.decode)
    raise ValueError(f"unknown neuron {neuron!r}")


# -- the workloads (options: speech_plugin.py) ---------------------------------------------------
class SpeechWorkload(TensorDataWorkload):
    """``task``: "snnbench" (the paper's), "35" words or the "12"-class task; ``epochs``: the epoch
    budget (None: the config's)."""

    neuron: str

    def __init__(self, context: WorkloadContext, task: str = "snnbench", epochs: int | None = None) -> None:
        super().__init__(context)
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
        self.model = build_model(self.neuron, self.config, len(self.classes)).to(self.device)
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
        neuron = {"lif": "norse LIF (lif_step), recurrent, no autapses",
                  "lsnn": "norse LSNN (lsnn_step, adaptive threshold), recurrent, no autapses",
                  "lstm": "torch.nn.LSTM"}[self.neuron]
        return {**config, "task": self.task, "classes": len(self.classes), "neuron": self.neuron,
                "recurrent_layer": neuron, "time_steps": self.config.features.frames,
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
        loss = F.cross_entropy(self.model(batch.inputs), batch.targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.config.gradient_clip)
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        return loss

    def predict(self, batch: Batch) -> torch.Tensor:
        self.model.eval()
        return self.model(batch.inputs).argmax(1)


class SpeechLIF(SpeechWorkload):
    name = "speech-lif"
    neuron = "lif"


class SpeechLSNN(SpeechWorkload):
    name = "speech-lsnn"
    neuron = "lsnn"


class SpeechLSTM(SpeechWorkload):
    name = "speech-lstm"
    neuron = "lstm"


def _settings(snnbench) -> dict[str, Any]:
    """The speech workloads' own options (--snnbench-speech-task, --snnbench-speech-epochs)."""
    return {"task": snnbench.option("snnbench_speech_task"), "epochs": snnbench.option("snnbench_speech_epochs")}


@pytest.mark.training
@pytest.mark.backprop
@pytest.mark.lif
def test_speech_lif_training(snnbench, benchmark) -> None:
    snnbench.train(SpeechLIF, benchmark, **_settings(snnbench))


@pytest.mark.inference
@pytest.mark.backprop
@pytest.mark.lif
def test_speech_lif_inference(snnbench, benchmark) -> None:
    snnbench.infer(SpeechLIF, benchmark, **_settings(snnbench))


@pytest.mark.training
@pytest.mark.backprop
@pytest.mark.lsnn
def test_speech_lsnn_training(snnbench, benchmark) -> None:
    snnbench.train(SpeechLSNN, benchmark, **_settings(snnbench))


@pytest.mark.inference
@pytest.mark.backprop
@pytest.mark.lsnn
def test_speech_lsnn_inference(snnbench, benchmark) -> None:
    snnbench.infer(SpeechLSNN, benchmark, **_settings(snnbench))


@pytest.mark.training
@pytest.mark.lstm
def test_speech_lstm_training(snnbench, benchmark) -> None:
    snnbench.train(SpeechLSTM, benchmark, **_settings(snnbench))


@pytest.mark.inference
@pytest.mark.lstm
def test_speech_lstm_inference(snnbench, benchmark) -> None:
    snnbench.infer(SpeechLSTM, benchmark, **_settings(snnbench))
