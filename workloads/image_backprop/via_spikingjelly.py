"""SpikingJelly's ``LIFNode``, mapped as closely as it allows: NOT the paper's neuron.

Mapping: tau = 1 / (1 - beta) (= 2), ``decay_input=False`` (v - v / tau + x = beta * v + x, exactly
for beta 0.5), soft reset (``v_reset=None``) detached (``detach_reset=True``), threshold 1, multi-step
mode over [time, ...], and snnTorch's fast-sigmoid surrogate passed as SpikingJelly's surrogate
callable (SpikingJelly's own ``SuperSpike`` is another function). What SpikingJelly cannot express
(docs/frameworks.md): its soft reset subtracts the threshold in the step that fires, so the next
step decays it (beta * (v - 1) + x instead of snnTorch's beta * v + x - 1), and it subtracts the same
threshold it fires at, so the reset cannot be scaled by 1 / beta as with Sinabs.
"""
from __future__ import annotations

import torch
from spikingjelly.activation_based import neuron
from torch import nn

from .network import fast_sigmoid_spike

LIBRARY = "spikingjelly"
EQUAL = False
MAPPING = ("spikingjelly LIFNode(tau=1/(1-beta), decay_input=False, v_threshold=1, v_reset=None, "
           "detach_reset=True, surrogate=fast sigmoid(25), step_mode='m'): the reset is decayed.")


class FastSigmoid:
    def __init__(self, slope: float) -> None:
        self.slope = slope

    def __call__(self, shifted: torch.Tensor) -> torch.Tensor:
        return fast_sigmoid_spike(shifted, self.slope)


class LIFNodeOverTime(nn.Module):
    def __init__(self, beta: float, slope: float) -> None:
        super().__init__()
        self.node = neuron.LIFNode(tau=1.0 / (1.0 - beta), decay_input=False, v_threshold=1.0, v_reset=None,
                                   surrogate_function=FastSigmoid(slope), detach_reset=True, step_mode="m")

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        self.node.reset()  # from rest
        return self.node(currents)


def make_neuron(beta: float, slope: float) -> nn.Module:
    return LIFNodeOverTime(beta, slope)
