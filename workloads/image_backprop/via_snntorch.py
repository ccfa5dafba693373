"""The paper's framework: snnTorch's ``Leaky`` neuron, exactly as the SNNBench script uses it."""
from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

LIBRARY = "snntorch"
EQUAL = True  # it is the reference
MAPPING = ("snntorch.Leaky(beta=0.5, spike_grad=surrogate.fast_sigmoid(slope=25)): reset by subtraction of the "
           "previous step's spike, detached (snnTorch's defaults), threshold 1, fires when mem > threshold.")


class LeakyOverTime(nn.Module):
    def __init__(self, beta: float, slope: float) -> None:
        super().__init__()
        self.neuron = snn.Leaky(beta=beta, spike_grad=surrogate.fast_sigmoid(slope=slope))

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        membrane = torch.zeros_like(currents[0])
        spikes = []
        for current in currents:
            spike, membrane = self.neuron(current, membrane)
            spikes.append(spike)
        return torch.stack(spikes)


def make_neuron(beta: float, slope: float) -> nn.Module:
    return LeakyOverTime(beta, slope)
