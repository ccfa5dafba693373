"""Our plain-torch implementation of the paper's neuron: the same update as snnTorch's ``Leaky``,
written as one expression per step without a module call or the reset's second threshold test."""
from __future__ import annotations

import torch
from torch import nn

from .network import THRESHOLD, fast_sigmoid_spike

LIBRARY = "torch"
EQUAL = True  # proven by tests/test_image_backprop_frameworks.py
MAPPING = ("m[t] = beta * m[t-1] + x[t] - threshold * s[t-1].detach(), s[t] = fast-sigmoid spike of "
           "m[t] - threshold: snnTorch's Leaky with its reset taken from the previous step's spike (the "
           "same comparison snnTorch repeats on the previous membrane).")


def leaky_over_time(currents: torch.Tensor, beta: float, slope: float) -> torch.Tensor:
    """Spikes [time, ...] of the paper's neuron for currents [time, ...], from rest (pure function)."""
    membrane = torch.zeros_like(currents[0])
    spike = torch.zeros_like(currents[0])
    spikes = []
    for current in currents:
        # The same operations in the same order as snnTorch: (beta * m + x) - reset * threshold.
        membrane = beta * membrane + current - spike.detach() * THRESHOLD
        spike = fast_sigmoid_spike(membrane - THRESHOLD, slope)
        spikes.append(spike)
    return torch.stack(spikes)


class Leaky(nn.Module):
    def __init__(self, beta: float, slope: float) -> None:
        super().__init__()
        self.beta, self.slope = beta, slope

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        return leaky_over_time(currents, self.beta, self.slope)


def make_neuron(beta: float, slope: float) -> nn.Module:
    return Leaky(beta, slope)
