"""The speech workloads' network, features -> recurrent layer -> leaky-integrator readout, with the
recurrent layer left to a framework.

The paper's recurrent layers are Norse's (Speech-LIF: a current-based LIF; Speech-LSNN: the same
with an adaptive threshold); the LSTM baseline is torch's. Written out for the LIF, with x the
input projection, z the spikes, i the synaptic current and v the membrane of step t:

    i[t] = 0.8 * i[t-1] + x[t] + W_rec z[t-1]              (1 - dt / tau_syn = 0.8)
    v'   = v[t-1] + 0.05 * (i[t] - v[t-1])                  (dt / tau_mem = 0.05, v_leak = 0)
    z[t] = 1 if v' - 1 > 0 else 0                           (gradient 0.3 * max(0, 1 - |v' - 1|): Norse's triangle)
    v[t] = v' * (1 - z[t])                                  (reset to 0, detached from the graph)

Each framework module (``via_<framework>_<neuron>.py``) supplies ``make_recurrent(input_size,
hidden_size, config)``: a module mapping inputs [T, B, I] to spikes [T, B, H] from rest, whose
parameters are ``input_weights`` [H, I] and ``recurrent_weights`` [H, H] (and nothing else that
trains), so that one set of weights loads into all. The readout, the decoding and the loss are
this module's, so the frameworks differ in the recurrent layer only.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pytest_snnbench.complexity import probe

from .config import Config

with warnings.catch_warnings():  # norse decorates with torch.jit.script, deprecated in torch 2.14
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    from norse.torch.functional.leaky_integrator import LIParameters, LIState, li_feed_forward_step

RecurrentFactory = Callable[[int, int, Config], nn.Module]


def input_weights(hidden: int, inputs: int) -> nn.Parameter:
    """Norse's initialisation of a recurrent cell's input weights."""
    return nn.Parameter(torch.randn(hidden, inputs) * math.sqrt(2.0 / hidden))


def recurrent_weights(hidden: int) -> nn.Parameter:
    """Norse's initialisation, without self-connections (Norse's default, autapses=False)."""
    weights = torch.randn(hidden, hidden) * math.sqrt(2.0 / hidden)
    weights.fill_diagonal_(0.0)
    parameter = nn.Parameter(weights)
    parameter.register_hook(lambda gradient: gradient.clone().fill_diagonal_(0.0))
    return parameter


class TriangleSpike(torch.autograd.Function):
    """Norse's ``triangle`` threshold as a plain torch function, for the frameworks that take a
    surrogate as a callable: Heaviside strictly above 0 forward (Norse's), ``alpha * max(0, 1 - |x|)``
    backward. (snnTorch's ``triangular`` is another function: a constant +-threshold gradient.)"""

    @staticmethod
    def forward(ctx, shifted: torch.Tensor, alpha: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(shifted)
        ctx.alpha = alpha
        return (shifted > 0).to(shifted.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (shifted,) = ctx.saved_tensors
        return grad * ctx.alpha * torch.relu(1.0 - shifted.abs()), None


class Triangle:
    """``TriangleSpike`` of a given height as a one-argument callable (a framework's surrogate)."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def __call__(self, shifted: torch.Tensor) -> torch.Tensor:
        return TriangleSpike.apply(shifted, self.alpha)


class RecurrentCells(nn.Module):
    """The recurrent loop the non-Norse frameworks share: the input projection once for all steps,
    then per step the recurrent input from the previous step's spikes and one step of the framework's
    neuron (``step``, with the state ``initial_state`` makes)."""

    # A neuron the complexity pass sees by itself (snnTorch's, through module hooks) is not reported
    # again by the loop: it would be counted twice.
    counted_by_hooks = False

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_weights = input_weights(hidden_size, input_size)
        self.recurrent_weights = recurrent_weights(hidden_size)

    def initial_state(self, like: torch.Tensor) -> object:
        """At rest: a current and a membrane of zeros (a framework keeping its own state overrides it)."""
        return torch.zeros_like(like), torch.zeros_like(like)

    def step(self, drive: torch.Tensor, state: object) -> tuple[torch.Tensor, object, torch.Tensor]:
        """(spikes, next state, membrane after the step) for the drive x[t] + W_rec z[t-1]."""
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        currents = F.linear(inputs, self.input_weights)  # all steps at once
        z = currents.new_zeros(currents.shape[1:])
        state = self.initial_state(z)
        recurrent = self.recurrent_weights.t()
        spikes, membrane = [], None
        for current in currents:
            z, state, after = self.step(torch.addmm(current, z, recurrent), state)
            if probe.active and not self.counted_by_hooks:  # Norse's LIF equations: counted as such
                probe.neuron_step(self, "norse-LIF", spikes=z, before=membrane, after=after)
            membrane = after
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


def build_model(make_recurrent: RecurrentFactory, config: Config, classes: int) -> SpeechNet:
    """The network around the recurrent layer a framework makes (the LSTM's returns (output, state))."""
    inputs, hidden = config.features.n_mels, config.hidden_size
    readout = LeakyIntegratorReadout(hidden, classes, LIParameters(
        tau_syn_inv=torch.as_tensor(1 / config.readout_tau_syn),
        tau_mem_inv=torch.as_tensor(1 / config.readout_tau_mem)), config.dt)
    recurrent = make_recurrent(inputs, hidden, config)
    return SpeechNet(recurrent, readout, lstm=isinstance(recurrent, nn.LSTM), decode=config.decode)
