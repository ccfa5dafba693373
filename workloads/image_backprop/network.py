"""The paper's Image-Backprop network, 12C5-MP2-64C5-MP2-FC10, with the neuron left to a framework.

The paper's neuron is snnTorch's ``Leaky`` (beta 0.5, threshold 1, reset by subtraction, fast-sigmoid
surrogate of slope 25). Written out, with m the membrane and s the spike of step t:

    m[t] = beta * m[t-1] + x[t] - threshold * s[t-1]      (the reset is not decayed, and detached)
    s[t] = 1 if m[t] > threshold else 0                   (gradient 1 / (slope * |m - threshold| + 1)^2)

Each framework module (``via_*.py``) supplies that neuron over time, ``make_neuron(beta, slope)``: a
module mapping currents [time, ...] to spikes [time, ...] from rest. Everything else, the layers and
their order, is this module's, so the frameworks differ in the neuron only.

Execution is layer by layer over all time steps rather than all layers once per step (a feed-forward
SNN allows it: a layer's state at step t depends only on its own input up to t). The first
convolution sees the same image at every step, so its current is computed once; the second
convolution and the readout see all steps in one batched call, in oneDNN's channels-last layout.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

NeuronFactory = Callable[[float, float], nn.Module]
THRESHOLD = 1.0


class ConvSNN(nn.Module):
    """12C5-MP2-64C5-MP2-FC10 with a spiking neuron after each stage; the same parameter names
    (``conv1``, ``conv2``, ``fc``) in every framework, so that one set of weights loads into all."""

    def __init__(self, make_neuron: NeuronFactory, beta: float, slope: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 12, 5)
        self.conv2 = nn.Conv2d(12, 64, 5)
        self.fc = nn.Linear(64 * 4 * 4, 10)
        self.lif1 = make_neuron(beta, slope)
        self.lif2 = make_neuron(beta, slope)
        self.lif3 = make_neuron(beta, slope)

    def layer_spikes(self, images: torch.Tensor, time_steps: int) -> tuple[torch.Tensor, ...]:
        """Every layer's spikes: [time, batch, 12, 12, 12], [time, batch, 1024], [time, batch, 10]."""
        batch = images.shape[0]
        current1 = F.max_pool2d(self.conv1(images), 2)  # identical at every step: computed once
        spikes1 = self.lif1(current1.expand(time_steps, *current1.shape))
        flat1 = spikes1.flatten(0, 1).contiguous(memory_format=torch.channels_last)
        current2 = F.max_pool2d(self.conv2(flat1), 2)
        # Features in (row, column, channel) order are a free view of the channels-last tensor; the
        # readout weight is permuted to match, so each output is the same sum of the same products.
        spikes2 = self.lif2(current2.permute(0, 2, 3, 1).reshape(time_steps, batch, -1))
        weight = self.fc.weight.view(10, 64, 4, 4).permute(0, 2, 3, 1).reshape(10, -1)
        return spikes1, spikes2, self.lif3(F.linear(spikes2, weight, self.fc.bias))

    def forward(self, images: torch.Tensor, time_steps: int) -> torch.Tensor:
        """Output spikes [time, batch, 10] for images [batch, 1, 28, 28]."""
        return self.layer_spikes(images, time_steps)[-1]


class FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward (strictly above 0, as snnTorch), snnTorch's fast-sigmoid gradient backward:
    for the frameworks that take a surrogate as a function (plain torch, Sinabs, SpikingJelly)."""

    @staticmethod
    def forward(ctx, shifted: torch.Tensor, slope: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(shifted)
        ctx.slope = slope
        return (shifted > 0).to(shifted.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (shifted,) = ctx.saved_tensors
        return grad / (ctx.slope * shifted.abs() + 1.0) ** 2, None


def fast_sigmoid_spike(shifted: torch.Tensor, slope: float) -> torch.Tensor:
    return FastSigmoidSpike.apply(shifted, slope)
