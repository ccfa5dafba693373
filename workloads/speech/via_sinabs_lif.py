"""Speech-LIF in Sinabs: its ``LIF`` layer with a synaptic current, mapped onto Norse's LIF.

Sinabs integrates i = alpha_syn * (i + x), v = alpha_mem * v + i (``norm_input=False``), so the
current is decayed after the input is added, where Norse adds it undecayed: with alpha_syn = 0.8,
alpha_mem = 0.95 (both set exactly and frozen, as for Image-Backprop) and the input scaled by
(dt / tau_mem) / alpha_syn = 0.0625, Sinabs's i is 0.05 times Norse's current and v is Norse's v,
up to rounding. The reset is Sinabs's ``reset_fn`` interface: to zero, detached (Sinabs's
MembraneReset keeps the spike in the graph); the surrogate is Norse's triangle in Sinabs's
``surrogate_grad_fn`` interface; ``SingleSpike`` fires at v >= threshold where Norse needs v >
threshold (they differ only at exact equality). The recurrence is this module's loop, one Sinabs
step per time step (Sinabs's own LIFRecurrent feeds back through a module of its own).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from sinabs.activation import SingleSpike
from sinabs.layers import LIF
from torch import nn

from .config import Config
from .network import RecurrentCells

LIBRARY = "sinabs"
EQUAL = True  # spikes equal and gradients within 1e-5 (tests/test_speech_frameworks.py)
MAPPING = ("sinabs.layers.LIF(alpha_mem=0.95, alpha_syn=0.8 set and frozen, norm_input=False, spike_fn=SingleSpike, "
           "reset_fn=detached reset to 0, surrogate_grad_fn=Norse's triangle(0.3)) on the input scaled by "
           "(dt/tau_mem)/alpha_syn, one step per call; fires at >= (Norse: >).")


@dataclass
class TriangleGradient:
    """Norse's triangle surrogate in Sinabs's surrogate interface."""

    alpha: float

    def __call__(self, v_mem: torch.Tensor, spike_threshold: float) -> torch.Tensor:
        return self.alpha * torch.relu(1.0 - (v_mem - spike_threshold).abs())


def detached_reset_to_zero(spikes: torch.Tensor, state: dict, spike_threshold: float) -> dict:
    return {**state, "v_mem": state["v_mem"] * (1.0 - spikes.detach())}


class SinabsRecurrent(RecurrentCells):
    def __init__(self, input_size: int, hidden_size: int, config: Config) -> None:
        super().__init__(input_size, hidden_size)
        self.input_scale = (config.dt / config.tau_mem) / config.current_decay
        self.neuron = LIF(tau_mem=config.tau_mem / config.dt, tau_syn=config.tau_syn / config.dt,
                          spike_threshold=config.v_th, spike_fn=SingleSpike, reset_fn=detached_reset_to_zero,
                          surrogate_grad_fn=TriangleGradient(config.surrogate_alpha), train_alphas=True,
                          norm_input=False)
        with torch.no_grad():  # exp(-1 / tau) is not Norse's Euler decay; set the decays themselves
            self.neuron.alpha_mem.fill_(config.membrane_decay)
            self.neuron.alpha_syn.fill_(config.current_decay)
        self.neuron.alpha_mem.requires_grad_(False)
        self.neuron.alpha_syn.requires_grad_(False)

    def initial_state(self, like: torch.Tensor) -> None:
        self.neuron.reset_states()
        self.neuron.init_state_with_shape(like.shape)  # from rest, whatever the last batch was
        return None

    def step(self, drive: torch.Tensor, state: None):
        spikes = self.neuron((drive * self.input_scale).unsqueeze(1)).squeeze(1)  # Sinabs is [batch, time, ...]
        return spikes, None, self.neuron.v_mem

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        spikes = super().forward(inputs)
        # Sinabs keeps its state as buffers of the batch's shape: keep none, so that a saved model
        # loads into a fresh one (every call starts from rest).
        for name, buffer in list(self.neuron.named_buffers()):
            self.neuron.register_buffer(name, buffer.new_zeros(0))
        return spikes


def make_recurrent(input_size: int, hidden_size: int, config: Config) -> nn.Module:
    return SinabsRecurrent(input_size, hidden_size, config)
