"""Sinabs's ``LIF`` layer, configured to compute the paper's neuron.

Sinabs resets in the step that fires and decays the reset with the membrane, so subtracting
threshold / beta there is subtracting the threshold after the next decay, as snnTorch does:
beta * (m - threshold / beta) + x = beta * m + x - threshold. The parts are Sinabs's own parameters:
``tau_mem`` with ``train_alphas`` (the decay set to beta exactly and frozen), ``norm_input=False``,
``spike_fn=SingleSpike`` (one spike per step), ``reset_fn`` (a detached subtraction, snnTorch detaches
its reset) and ``surrogate_grad_fn`` (snnTorch's fast sigmoid). Two differences remain, both stated
in docs/frameworks.md: Sinabs fires at m >= threshold where snnTorch needs m > threshold, and it
rounds (beta * m - 1) + x where snnTorch rounds (beta * m + x) - 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from sinabs.activation import SingleSpike
from sinabs.layers import LIF
from torch import nn

LIBRARY = "sinabs"
EQUAL = True  # spikes equal and gradients within 1e-5 (tests/test_image_backprop_frameworks.py)
MAPPING = ("sinabs.layers.LIF(tau_mem=-1/ln(beta), train_alphas=True with alpha_mem frozen at beta, "
           "norm_input=False, spike_fn=SingleSpike, reset_fn=detached subtraction of threshold/beta, "
           "surrogate_grad_fn=fast sigmoid(25)); fires at >= (snnTorch: >).")


@dataclass
class FastSigmoidGradient:
    """snnTorch's fast-sigmoid surrogate in Sinabs's surrogate interface."""

    slope: float

    def __call__(self, v_mem: torch.Tensor, spike_threshold: float) -> torch.Tensor:
        return 1.0 / (self.slope * (v_mem - spike_threshold).abs() + 1.0) ** 2


@dataclass
class DetachedSubtract:
    """Subtract ``amount`` per spike, outside the graph (Sinabs's MembraneSubtract keeps it in)."""

    amount: float

    def __call__(self, spikes: torch.Tensor, state: dict, spike_threshold: float) -> dict:
        return {**state, "v_mem": state["v_mem"] - spikes.detach() * self.amount}


class SinabsLeaky(nn.Module):
    def __init__(self, beta: float, slope: float, threshold: float = 1.0) -> None:
        super().__init__()
        self.layer = LIF(tau_mem=-1.0 / math.log(beta), spike_threshold=threshold, spike_fn=SingleSpike,
                         reset_fn=DetachedSubtract(threshold / beta), surrogate_grad_fn=FastSigmoidGradient(slope),
                         train_alphas=True, norm_input=False)
        with torch.no_grad():  # exp(-1 / tau) is beta only up to rounding; the paper's beta is exact
            self.layer.alpha_mem.fill_(beta)
        self.layer.alpha_mem.requires_grad_(False)

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        self.layer.reset_states()
        self.layer.init_state_with_shape(currents.shape[1:])  # from rest, whatever the last batch was
        spikes = self.layer(currents.transpose(0, 1)).transpose(0, 1)  # Sinabs is batch-major
        # Sinabs keeps the state as buffers of the batch's shape, so a saved model would not load into a
        # fresh one (size mismatch for lif1.layer.v_mem); every call starts from rest, so keep none.
        for name, buffer in list(self.layer.named_buffers()):
            self.layer.register_buffer(name, buffer.new_zeros(0))
        return spikes


def make_neuron(beta: float, slope: float) -> nn.Module:
    return SinabsLeaky(beta, slope)
