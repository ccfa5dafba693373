"""Rockpool's ``LIFNeuronTorch``, mapped as closely as it allows: NOT the paper's neuron.

Mapping: ``tau_mem = -dt / ln(beta)`` (Rockpool decays by exp(-dt / tau_mem), beta only up to
float rounding), threshold 1, bias 0, no noise, all of them ``Constant`` (not trained), and one spike
per step at most. Rockpool takes the spike function as an autograd function of (membrane,
threshold, window, maximum spikes); ours is snnTorch's: Heaviside strictly above the threshold,
fast-sigmoid gradient (Rockpool's own ``StepPWL`` fires ``floor(v / threshold)`` spikes at
v >= threshold with a step-shaped gradient). What Rockpool cannot express (docs/frameworks.md): its
reset subtracts the threshold in the step that fires, so the next step decays it (beta * (v - 1) + x
instead of snnTorch's beta * v + x - 1, as SpikingJelly's soft reset), and the subtraction stays in
the graph (snnTorch detaches it).

Rockpool modules are built for a fixed number of neurons and keep their last state (of the batch's
first sample only) as the start of the next call; so one module per layer shape is kept outside the
network's parameters and reset before every call: every call starts from rest and a saved network
holds only the layers' weights.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import rockpool_import

rockpool = rockpool_import.rockpool()  # at import: a missing Rockpool is a skip naming its extra

LIBRARY = "rockpool"
EQUAL = False
MAPPING = ("rockpool LIFNeuronTorch(tau_mem=-dt/ln(beta), threshold=1, bias=0, all Constant, "
           "max_spikes_per_dt=1, spike_generation_fn=Heaviside(v > 1) with snnTorch's fast sigmoid(25)): "
           "the reset is decayed and kept in the graph.")

DT = 1e-3  # Rockpool's default Euler step; only dt / tau_mem matters


class FastSigmoidStep(torch.autograd.Function):
    """snnTorch's spike (v > threshold) and fast-sigmoid gradient, in Rockpool's spike-function interface."""

    @staticmethod
    def forward(ctx, membrane, threshold, window, max_spikes_per_dt, slope=25.0):  # type: ignore[override]
        shifted = membrane - threshold
        ctx.save_for_backward(shifted)
        ctx.slope = slope
        return (shifted > 0).to(membrane.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (shifted,) = ctx.saved_tensors
        return grad / (ctx.slope * shifted.abs() + 1.0) ** 2, None, None, None, None


class RockpoolLeaky(nn.Module):
    def __init__(self, beta: float, slope: float) -> None:
        super().__init__()
        self.beta, self.slope = beta, slope
        # Not submodules: their constants and states are no part of the network's state_dict.
        self._layers: dict[tuple[int, torch.device], nn.Module] = {}

    def _layer(self, neurons: int, device: torch.device) -> nn.Module:
        key = (neurons, device)
        if key not in self._layers:
            LIFNeuronTorch, Constant = rockpool.nn.modules.LIFNeuronTorch, rockpool.parameters.Constant
            slope = self.slope
            spike = lambda v, threshold, window, most: FastSigmoidStep.apply(v, threshold, window, most, slope)
            layer = LIFNeuronTorch(shape=(neurons,), tau_mem=Constant(-DT / math.log(self.beta)),
                                   threshold=Constant(1.0), bias=Constant(0.0), dt=DT,
                                   max_spikes_per_dt=torch.tensor(1.0))
            layer.spike_generation_fn = spike  # Rockpool calls it as a plain function of four arguments
            self._layers[key] = layer.to(device)
        return self._layers[key]

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        steps, batch = currents.shape[:2]
        layer = self._layer(currents[0, 0].numel(), currents.device)
        layer.reset_state()  # from rest, whatever the last call left
        # Rockpool is [batch, time, neurons] and returns (output, state, record).
        spikes = layer(currents.reshape(steps, batch, -1).transpose(0, 1))[0]
        return spikes.transpose(0, 1).reshape(currents.shape)


def make_neuron(beta: float, slope: float) -> nn.Module:
    return RockpoolLeaky(beta, slope)
